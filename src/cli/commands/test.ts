import { Command, Option } from 'clipanion';
import { junitXmlOption, PipelineCommand, skipPushOption, type ParsedPipelineRequest } from '../options.js';

/** `test [deployment]`: the test pipeline, its JUnit XML attached to the commit. */
export class TestCommand extends PipelineCommand {
  static override paths = [['test']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build (cached) and test the nixpack components (shorthand for `run test`)',
    details: `
      Runs each component's \`test_cmd\` (or the provider's default, e.g. \`npm test\`) against the built tree, in the sandbox and without network. A failing test fails the run (exit 1) with its output. Results are written as JUnit XML with \`--junit-xml\` and attached to the commit as a Git note (\`refs/notes/atmos/<d>/test-results\`).

      \`--command <cmd>\` replaces the test command of every tested component for this run. Like \`test_cmd\` it is a shell command: it runs as the argv \`sh -c <cmd>\` in the sandbox (never interpolated into another string), and it is part of the test step's fingerprint, so another command runs again and the same one is cached.
    `,
    examples: [
      ['Test the example service', '$0 test payment-service --target dev'],
      ['With a JUnit report for CI', '$0 test payment-service --junit-xml reports/junit.xml'],
      ['With another test command', '$0 test payment-service --target dev --command "npm test"'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  skipPush = skipPushOption();
  junitXml = junitXmlOption();
  command = Option.String('--command', { description: "Shell command run as `sh -c <cmd>` instead of each component's test_cmd (part of the step fingerprint)" });
  protected override async parseRequest(): Promise<ParsedPipelineRequest> {
    if (this.command !== undefined && this.command.trim() === '') {
      const lib = await import('../../index.js');
      throw new lib.DiagnosticError(lib.error('args/command', '--command is empty', undefined, 'give the shell command the tests run, e.g. --command "npm test"'));
    }
    const parsed = await super.parseRequest();
    return { ...parsed, request: { ...parsed.request, ...(this.command !== undefined ? { testCommand: this.command } : {}) } };
  }
  protected pipelineName(): string {
    return 'test';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
