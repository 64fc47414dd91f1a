import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class ApproveCommand extends BaseCommand {
  static override paths = [['approve']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Approve a release for a target that requires approval',
    details: `
      Records an approval (who, when, which release, promoted from where) as a Git note on the release's commit, in \`refs/notes/atmos/<d>/approvals\`. A rollout to a target with \`promotion.requires_approval\` proceeds only with a recorded approval of the release it rolls out.

      Without \`--release\`, the approved release is the one the target would receive: the current release of its promotion source (\`--promote-from\` when it has several). With \`approval.distinct_approver: true\`, the rollout refuses an approval given by the person deploying.

      The approver is \`--approver\`, else ATMOS_PIPE_USER, the CI's actor (GITHUB_ACTOR, GITLAB_USER_LOGIN, ...), else Git's user.email.

      \`--component <c>\` (repeatable) approves only these Terraform components of the release: a rollout that applies others (e.g. the whole deployment) still needs an approval for them, and \`rollout --component <c>\` of approved ones proceeds.

      \`--timeout <dur>\` requests instead of approving: it records nothing, and waits up to \`<dur>\` (e.g. 30m) for someone to record an approval of the release (\`approve ... --push\` on their machine; the tracking remote is fetched again every few seconds). It exits 0 with the approval once one is seen, 3 when none came in time. With \`approval.distinct_approver: true\`, an approval by the one waiting does not count. There is no Atmos Pro service: the approval is the Git note, as everywhere else.
    `,
    examples: [
      ['Approve what runs in staging for prod', '$0 approve payment-service --target prod'],
      ['Approve one release, as someone', '$0 approve payment-service --target prod --release r-0123456789ab --approver alice@example.com'],
      ['Approve one component only', '$0 approve payment-service --target prod --component ecs/service-api'],
      ['Wait up to 30 minutes for an approval (CI)', '$0 approve payment-service --target prod --timeout 30m'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'The target that requires the approval', required: true });
  release = Option.String('--release', { description: 'Release id (default: what the target would be promoted to)' });
  promoteFrom = Option.String('--promote-from', { description: 'Source target, when the target accepts several' });
  approver = Option.String('--approver', { description: 'Who approves (default: ATMOS_PIPE_USER, CI actor, git user.email)' });
  push = Option.Boolean('--push', false, { description: 'Push the approvals notes to the tracking remote' });
  remote = Option.String('--remote', { description: 'Tracking remote for --push (default: deployments.tracking.remote, else origin)' });
  fetch = Option.Boolean('--fetch', true, { description: '--no-fetch: decide on the local records without fetching the tracking remote first (also ATMOS_PIPE_NO_FETCH=1)' });
  component = Option.Array('-c,--component', [], { description: 'Approve only this Terraform component (repeatable; address or bare name)' });
  timeout = Option.String('--timeout', { description: 'Record nothing: wait up to this long (e.g. 30m) for someone to record the approval; exit 3 if none comes' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    let waitSeconds: number | undefined;
    if (this.timeout !== undefined) {
      const lib = await import('../../index.js');
      const { parseDuration } = await import('../../output/format.js');
      waitSeconds = parseDuration(this.timeout);
      if (waitSeconds === undefined || waitSeconds <= 0) throw new lib.DiagnosticError(lib.error('args/timeout', `--timeout "${this.timeout}" is not a duration`, undefined, 'e.g. 30s, 5m, 1h'));
      if (this.approver !== undefined) {
        throw new lib.DiagnosticError(
          lib.error('args/exclusive', '--timeout waits for an approval someone else records; --approver records one', undefined, 'drop --timeout to approve, or --approver to wait'),
        );
      }
    }
    const { repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const { approve } = await import('../../rollout/approve.js');
    const { pushRemoteOf } = await import('../options.js');
    const r = await approve(repo, dep, {
      target,
      release: this.release,
      promoteFrom: this.promoteFrom,
      approver: this.approver,
      pushRemote: pushRemoteOf(repo, this.push, this.remote),
      fetch: this.fetch,
      ...(this.component.length ? { components: this.component } : {}),
      ...(waitSeconds !== undefined ? { waitSeconds, notice: (m: string) => this.context.stderr.write(`${m}\n`) } : {}),
    });
    await this.warn(r.warnings);
    await this.print({ ...r.approval, commit: r.commit, created: r.created, ...(r.push ? { push: r.push } : {}) }, (c) => {
      const a = r.approval;
      const head = r.waited ? c.green('approval received') : r.created ? c.green('approved') : 'already approved';
      const only = a.components ? ` (components ${a.components.join(', ')})` : '';
      return `${head}: release ${a.release} of ${a.deployment} for ${a.target}${only}${a.promoted_from ? ` (from ${a.promoted_from})` : ''} by ${a.approved_by} at ${a.approved_at}\n  commit: ${r.commit}\n  next:   atmos-pipe rollout ${a.deployment} --target ${a.target} ${a.promoted_from ? `--promote-from ${a.promoted_from}` : `--release ${a.release}`}\n`;
    });
    const { pushFailed, renderPushFailure } = await import('../render/pipeline.js');
    const { exitCode } = await import('../exit.js');
    if (!pushFailed(r.push)) return exitCode('success');
    this.context.stderr.write(renderPushFailure(r.push));
    return exitCode('failed');
  }
}
