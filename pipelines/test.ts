/**
 * `test` (SPEC 5.2): build (cached), then each nixpack component's `test_cmd` (or the
 * provider's default, e.g. `npm test`) against the built tree, sandboxed and offline. A
 * failing test fails the pipeline with its output; results can be written as JUnit XML and
 * are attached to the commit as a Git note.
 */
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'test',
  description: 'Build (cached) and run the tests of every nixpack component',
  mutates: false,
  records: 'test-results',
  stages: [{ name: 'test', module: useModule('nixpack.test'), appliesTo: (c) => c.type === 'nixpack' }],
});
