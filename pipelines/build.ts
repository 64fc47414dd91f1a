/**
 * `build` (SPEC 5.1): every nixpack component → install and build steps in the sandbox →
 * a reproducible OCI image in the local layout store, pushed to its registry unless
 * `--skip-push` or `publish: false`; every component of a type a module declares (e.g. a zip
 * archive) → its artifact. Cached by content: an unchanged service is not rebuilt.
 */
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'build',
  description: 'Build every nixpack component into a reproducible OCI image, and the artifacts of declared component types',
  mutates: false,
  // Components of the types modules declare (e.g. zip) are artifacts too.
  buildsArtifacts: true,
  stages: [{ name: 'build', module: useModule('nixpack.build'), appliesTo: (c) => c.type === 'nixpack' }],
});
