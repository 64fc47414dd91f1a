import { Command, Option } from 'clipanion';
import { PipelineCommand, skipPushOption } from '../options.js';

/** `build [deployment]`: the build pipeline; `--plan` prints the build plans instead. */
export class BuildCommand extends PipelineCommand {
  static override paths = [['build']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build the nixpack components into OCI images (shorthand for `run build`)',
    details: `
      Detects each component's provider (node, go, python, static) from its source, plans the build in the shape of a nixpacks plan (\`--plan\` prints it and builds nothing), runs the install (with network) and build (without) commands as sandboxed steps over a copy of the source, and assembles a bit-for-bit reproducible OCI image (sorted entries, SOURCE_DATE_EPOCH or the commit time, uid/gid 0). Images are kept in the local OCI layout \`.atmos/images/\` and pushed to \`image.registry\` unless \`--skip-push\` or \`settings.nixpack.publish: false\`; registry credentials come from the Docker config file. An unchanged service is not rebuilt.
    `,
    examples: [
      ['Build the example service', '$0 build payment-service --target dev'],
      ['Print the build plan', '$0 build payment-service --component api --plan'],
      ['Build without pushing', '$0 build payment-service --skip-push'],
    ],
  });
  static override optionGroups = { '--plan': 'Output' };
  deployment = Option.String({ required: false, name: 'deployment' });
  plan = Option.Boolean('--plan', false, { description: 'Print the build plan (nixpacks plan JSON) and build nothing' });
  skipPush = skipPushOption();
  protected pipelineName(): string {
    return 'build';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }

  override async run(): Promise<number> {
    if (!this.plan) return super.run();
    const { repo, dep, target, request } = await this.parseRequest();
    const { buildPlans } = await import('../../run/pipeline-run.js');
    const plans = await buildPlans(repo, dep, target, this.component, request.pipeline, request.modules);
    // The plan is JSON (nixpacks' shape) unless YAML is asked for.
    if (this.outputFormat() === 'yaml') await this.print(plans, () => '');
    else this.write(`${JSON.stringify(plans, null, 2)}\n`);
    return 0;
  }
}
