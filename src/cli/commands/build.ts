import { Command, Option } from 'clipanion';
import { PipelineCommand, skipPushOption, type ParsedPipelineRequest } from '../options.js';

/** `build [deployment]`: the build pipeline; `--plan` prints the build plans instead. */
export class BuildCommand extends PipelineCommand {
  static override paths = [['build']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build the nixpack components into OCI images (shorthand for `run build`)',
    details: `
      Detects each component's provider (node, go, python, static) from its source, plans the build in the shape of a nixpacks plan (\`--plan\` prints it and builds nothing), runs the install (with network) and build (without) commands as sandboxed steps over a copy of the source, and assembles a bit-for-bit reproducible OCI image (sorted entries, SOURCE_DATE_EPOCH or the commit time, uid/gid 0). Images are kept in the local OCI layout \`.atmos/images/\` and pushed to \`image.registry\` unless \`--skip-push\` or \`settings.nixpack.publish: false\`; registry credentials come from the Docker config file. An unchanged service is not rebuilt.

      \`--tag <tag>\` (repeatable) gives every built image further tags besides its \`image.tag\`: the same image (same digest, the tag is not part of its content) is stored under each of them in \`.atmos/images/\` and, when pushed, pushed under each. Releases and Terraform still pin images by digest: a tag is advisory, for people and other tools.

      \`--context k=v\` (repeatable) overrides the target's context for this build (values reach nixpack components through \`{{ target.context.k }}\` templates, so they change the steps' fingerprints). A build records no release: roll out or release with the same \`--context\` to record it.
    `,
    examples: [
      ['Build the example service', '$0 build payment-service --target dev'],
      ['Print the build plan', '$0 build payment-service --component api --plan'],
      ['Build without pushing', '$0 build payment-service --skip-push'],
      ['Also tag (and push) the images as v1.2.3', '$0 build payment-service --target dev --tag v1.2.3'],
      ['Build with a context override', '$0 build payment-service --target dev --context cpu=512'],
    ],
  });
  static override optionGroups = { '--plan': 'Output' };
  deployment = Option.String({ required: false, name: 'deployment' });
  plan = Option.Boolean('--plan', false, { description: 'Print the build plan (nixpacks plan JSON) and build nothing' });
  skipPush = skipPushOption();
  tag = Option.Array('--tag', [], { description: 'An extra tag for each built image (repeatable; pushed under it too unless --skip-push); images are still pinned by digest' });
  protected override async parseRequest(): Promise<ParsedPipelineRequest> {
    const lib = await import('../../index.js');
    for (const t of this.tag) {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t)) {
        throw new lib.DiagnosticError(lib.error('args/tag', `--tag "${t}" is not an image tag`, undefined, 'letters, digits, _ . -, at most 128 characters, not starting with . or - (e.g. v1.2.3)'));
      }
    }
    const parsed = await super.parseRequest();
    return { ...parsed, request: { ...parsed.request, ...(this.tag.length ? { extraTags: [...new Set(this.tag)] } : {}) } };
  }
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
