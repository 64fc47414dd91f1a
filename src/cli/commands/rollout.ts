import path from 'node:path';
import { Command, Option } from 'clipanion';
import { pushRemoteOf, TrackedPipelineCommand, type ParsedPipelineRequest, type TrackingFlags } from '../options.js';

/** `rollout [deployment]`: the rollout pipeline, with releases, promotion and Git records. */
export class RolloutCommand extends TrackedPipelineCommand {
  static override paths = [['rollout']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Roll a deployment out to a target (shorthand for `run rollout`)',
    details: `
      Chooses the release (the working tree's commit; \`--promote-from\` the source target's current release; \`--release\` / \`--git-sha\` an earlier one), checks the promotion path and approvals (a refusal exits 3 and writes nothing), pulls vendored modules and builds nixpack components (cached), creates the release, then runs \`terraform init\` and \`apply\` for every Terraform component in dependency order, each in its own isolated workspace. Nothing is written under components/. Each component's outcome is recorded in Git: a history tag, and on success the deployment ref moved by compare-and-swap (\`--push\` sends them to the tracking remote).

      Re-running an unchanged rollout is all cache hits and records nothing; a state changed elsewhere (drift) re-runs the apply. A second rollout of the same deployment and target waits for the first, or exits 4 after \`--lock-timeout\`.

      \`--from-plan <dir|id>\` applies the plans \`plan --out <dir>\` stored (the directory, or on the same machine the id it printed) (\`terraform apply <planfile>\`): a component whose inputs (module, variables, backend) or state changed since its plan was made is refused with exit 3, naming what changed.

      \`--plan\` is the rollout's dry run: \`terraform plan\` (add/change/destroy counts per component) of exactly what this command would apply — the same release (the working tree, \`--promote-from\`, \`--release\`, \`--git-sha\`, with that release's commit, images and context) after the same promotion-path check (exit 3) — applying nothing and recording nothing in Git. The plans are stored: \`rollout --from-plan <id>\` (the id it prints) applies exactly them, or refuses (exit 3) if anything changed since.

      A new release is made only from committed inputs (deployment file, loaded stacks, modules, service sources, atmos.yaml): modified or untracked input files exit 3 with their list, unless \`--allow-dirty\` records a dirty release, which is never promoted. A component rolled out without its dependencies (\`--component\`) takes their outputs as recorded by the rollout that applied them to the target (the same release when promoting); when none are recorded it exits 2 naming the command that applies them.
    `,
    examples: [
      ['Roll out to dev', '$0 rollout payment-service --target dev'],
      ['Promote exactly what runs in staging', '$0 rollout payment-service --target prod --promote-from staging'],
      ['Approve while promoting, in CI', '$0 rollout payment-service --target prod --promote-from staging --approve --approver "$GITHUB_ACTOR"'],
      ['Roll prod back to an earlier release', '$0 rollout payment-service --target prod --release r-0123456789ab'],
      ['Only one component, with what it needs', '$0 rollout payment-service --target dev --component ecr/api --with-deps'],
      ['Plan only: what the promotion would change, nothing applied', '$0 rollout payment-service --target prod --promote-from staging --plan'],
      ['Apply exactly the plans stored by `plan --out plans/`', '$0 rollout payment-service --target prod --from-plan plans/'],
      ['The same plans by the id `plan --out` printed', '$0 rollout payment-service --target prod --from-plan sha256:…'],
    ],
  });
  static override optionGroups = { '--plan': 'Execution' };
  deployment = Option.String({ required: false, name: 'deployment' });
  fromPlan = Option.String('--from-plan', {
    description: "Apply the plans stored by `plan --out <dir>`, after checking that each component's inputs and state are those it was made from (else exit 3)",
  });
  plan = Option.Boolean('--plan', false, {
    description: 'Plan only: terraform plan of exactly what this rollout would apply (same release and checks); applies and records nothing, stores the plans for --from-plan',
  });
  protected override trackingFlags(): TrackingFlags | undefined {
    // A plan records nothing: the flags that choose the release are taken below.
    return this.plan ? undefined : super.trackingFlags();
  }
  protected override async parseRequest(): Promise<ParsedPipelineRequest> {
    if (!this.plan) return super.parseRequest();
    const lib = await import('../../index.js');
    const used = [
      this.fromPlan !== undefined && '--from-plan',
      this.dryRun && '--dry-run',
      this.approve && '--approve',
      this.approver !== undefined && '--approver',
      this.annotation.length > 0 && '--annotation',
      this.push && '--push',
      this.allowDirty && '--allow-dirty',
    ].filter((x): x is string => typeof x === 'string');
    if (used.length) {
      throw new lib.DiagnosticError(
        lib.error(
          'args/plan',
          `${used.join(', ')}: not with --plan, which applies and records nothing`,
          undefined,
          'plan with --plan, then roll out (or --from-plan <id> to apply exactly the stored plans)',
        ),
      );
    }
    const parsed = await super.parseRequest();
    const choice = { promoteFrom: this.promoteFrom, release: this.release, gitSha: this.gitSha, skipPromotionCheck: this.skipPromotionCheck };
    return { ...parsed, request: { ...parsed.request, ...choice, fetch: this.fetch, pushRemote: pushRemoteOf(parsed.repo, false, this.remote), rolloutPlan: true } };
  }
  protected override storedPlans(): { fromPlan?: string } {
    if (this.fromPlan === undefined) return {};
    // An id (`sha256:<hex>`, printed by `plan --out`) is looked up in the cache; anything else is a directory.
    return { fromPlan: /^sha256:[0-9a-f]{64}$/.test(this.fromPlan) ? this.fromPlan : path.resolve(this.chdir ?? process.cwd(), this.fromPlan) };
  }
  protected pipelineName(): string {
    return this.plan ? 'plan' : 'rollout';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
