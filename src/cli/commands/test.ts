import { Command, Option } from 'clipanion';
import { junitXmlOption, PipelineCommand, skipPushOption } from '../options.js';

/** `test [deployment]`: the test pipeline, its JUnit XML attached to the commit. */
export class TestCommand extends PipelineCommand {
  static override paths = [['test']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build (cached) and test the nixpack components (shorthand for `run test`)',
    details: `
      Runs each component's \`test_cmd\` (or the provider's default, e.g. \`npm test\`) against the built tree, in the sandbox and without network. A failing test fails the run (exit 1) with its output. Results are written as JUnit XML with \`--junit-xml\` and attached to the commit as a Git note (\`refs/notes/atmos/<d>/test-results\`).
    `,
    examples: [
      ['Test the example service', '$0 test payment-service --target dev'],
      ['With a JUnit report for CI', '$0 test payment-service --junit-xml reports/junit.xml'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  skipPush = skipPushOption();
  junitXml = junitXmlOption();
  protected pipelineName(): string {
    return 'test';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
