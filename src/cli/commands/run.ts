import { Command, Option } from 'clipanion';
import { junitXmlOption, skipPushOption, TrackedPipelineCommand } from '../options.js';

/** `run <pipeline> [deployment]`: any pipeline, by name. */
export class RunCommand extends TrackedPipelineCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Run a pipeline over a deployment for one target',
    details: `
      Resolves the deployment, expands every component into content-addressed steps and runs them in dependency order with at most \`--parallelism\` at once. A step whose fingerprint is in the action cache is not run again (\`cached\`); \`--no-cache\` forces it. When a step fails, nothing that depends on it starts, running steps finish, and the run exits 1 listing every failed and skipped step.

      With the local engine every step runs in the bubblewrap sandbox (\`--sandbox strict\`, the default): a user namespace without capabilities, a read-only root assembled from /usr and a few /etc files, a private /tmp, writable only its workspace and declared mounts, no network unless the step needs it. Where that sandbox cannot be had the run refuses (exit 2) before any step; \`--sandbox off\` (or ATMOS_PIPE_SANDBOX=off, or deployments.sandbox: off in atmos.yaml) runs the steps unsandboxed on the host and says so.

      Built-in pipelines: \`rollout\` (release, promotion checks, terraform init + apply in dependency order, recorded in Git), \`plan\` (terraform plan; prints add/change/destroy per component, records nothing), \`build\` (nixpack components to OCI images), \`test\` (their tests) and \`release\` (a release record). Each also has a command of its own. The repository's own pipelines (\`pipelines/<name>.ts\`, TypeScript loaded without a build step) run the same way; \`atmos-pipe modules\` lists every pipeline and module.
    `,
    examples: [
      ['Roll the example out to dev', '$0 run rollout payment-service --target dev'],
      ['Plan one component and its dependencies', '$0 run plan payment-service --target prod --component ecs/service-api --with-deps'],
      ['Machine-readable events for CI', '$0 run rollout payment-service --target dev --events ndjson'],
      ['On a host without bubblewrap, knowingly unsandboxed', '$0 run rollout payment-service --target dev --sandbox off'],
      ["The repository's own pipeline (pipelines/verify.ts)", '$0 run verify payment-service --target dev'],
    ],
  });
  pipeline = Option.String({ name: 'pipeline' });
  deployment = Option.String({ required: false, name: 'deployment' });
  skipPush = skipPushOption();
  junitXml = junitXmlOption();
  protected pipelineName(): string {
    return this.pipeline;
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
