import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class DiffCommand extends BaseCommand {
  static override paths = [['diff']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Compare what runs in two targets of a deployment, read from Git',
    details: `
      For every component: the commit and release running in \`--from-target\` and in \`--to-target\`, and whether they differ. Then how many commits the destination's commit is behind (and ahead of) the source's, the commit log between them (newest first, at most \`--limit\` entries), and the configuration files changed between the two commits (the deployment file, \`atmos.yaml\`, the stacks and the components directories).

      A target's commit is the one of its newest deployment that did not fail. A target that was never deployed is reported as such (null in JSON); the command still exits 0. \`--from-target\` defaults to the promotion source of \`--to-target\` when it has exactly one.

      Reads Git with a constant number of processes whatever the number of tags: one \`git for-each-ref\`, then \`git rev-list --count\`, \`git log\` and \`git diff --name-status\`.
    `,
    examples: [
      ['What staging has that prod does not', '$0 diff payment-service --from-target staging --to-target prod'],
      ['The promotion source of staging against staging', '$0 diff payment-service --to-target staging'],
      ['As JSON, with at most 10 commits', '$0 diff payment-service --from-target dev --to-target staging --limit 10 --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  fromTarget = Option.String('--from-target', { description: 'The source target (default: the promotion source of --to-target)' });
  toTarget = Option.String('--to-target', { required: true, description: 'The destination target' });
  limit = Option.String('-n,--limit', { description: 'At most this many commits in the log (default 50)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    // Bad names on the command line are rejected before any file is read.
    for (const [flag, v] of [
      ['--from-target', this.fromTarget],
      ['--to-target', this.toTarget],
    ] as const) {
      const p = v === undefined ? undefined : checkKebabName(v);
      if (p) throw new lib.DiagnosticError(lib.error('args/target-name', `invalid ${flag} "${v}": ${p}`, undefined, 'targets look like dev, staging, prod'));
    }
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const checkTarget = (flag: string, v: string) => {
      try {
        lib.checkTargetArg(dep, v);
      } catch (e) {
        if (!(e instanceof lib.DiagnosticError)) throw e;
        throw new lib.DiagnosticError(e.diagnostics.map((d) => ({ ...d, message: d.message.replace(/^--target /, `${flag} `) })), e.kind);
      }
    };
    checkTarget('--to-target', this.toTarget);
    let from = this.fromTarget;
    if (from === undefined) {
      const sources = lib.promotionGraph(dep).targets.find((x) => x.name === this.toTarget)?.from ?? [];
      if (sources.length !== 1) {
        throw new lib.DiagnosticError(
          lib.error(
            'args/from-target-required',
            `--from-target is required: target "${this.toTarget}" of deployment "${dep.name}" has ${sources.length === 0 ? 'no promotion source' : `${sources.length} promotion sources`}`,
            undefined,
            `valid values: ${Object.keys(dep.body.targets).join(', ')}`,
          ),
        );
      }
      from = sources[0];
    } else checkTarget('--from-target', from);

    const path = await import('node:path');
    const root = repo.config.repoRoot;
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/') || '.';
    const configPaths = [...new Set([dep.abs, ...(repo.config.configFile ? [repo.config.configFile] : []), repo.config.stacksBasePath, repo.config.terraformBasePath].map(rel))];

    const { diffTargets } = await import('../../promotion/diff.js');
    const { trackingRepo, gitRead, invalidTagWarnings } = await import('../../release/cli.js');
    const { formatAge } = await import('../../release/read.js');
    const invalid: import('../../release/index.js').InvalidTag[] = [];
    const d = await gitRead(() => diffTargets(trackingRepo(root), dep.name, from!, this.toTarget, { configPaths, logLimit: this.limit ?? 50, invalid }));
    await this.warn(invalidTagWarnings(invalid));
    if (d.warnings.length && d.from.deployed && d.to.deployed) {
      await this.warn(d.warnings.map((w) => lib.warning('tracking/diff', w)));
    }
    const now = Date.now();
    const { table, safeText: esc } = await import('../../render/index.js');
    await this.print(d, (c) => {
      // Release ids, user names, commit authors and subjects, paths: data, escaped on a terminal.
      const short = (s: string | null) => (s ? s.slice(0, 12) : '-');
      const side = (s: typeof d.from) =>
        s.deployed
          ? `${c.bold(s.target)}: ${esc(s.release ?? 'no release')} at ${short(s.commit)}${s.timestamp ? `, deployed ${formatAge(s.timestamp, now)} ago by ${esc(s.deployed_by ?? '')}` : ''}`
          : `${c.bold(s.target)}: ${c.yellow('never deployed')}`;
      const out: string[] = [`${d.deployment}: ${d.from.target} → ${d.to.target}`, `  ${side(d.from)}`, `  ${side(d.to)}`];
      if (!d.from.deployed || !d.to.deployed) {
        out.push(`  nothing to compare: ${[d.from, d.to].filter((s) => !s.deployed).map((s) => s.target).join(' and ')} never deployed`);
      } else if (d.commits_behind !== null) {
        out.push(
          d.commits_behind === 0 && d.commits_ahead === 0
            ? `  ${d.to.target} runs the same commit as ${d.from.target}`
            : `  ${d.to.target} is ${d.commits_behind} commit${d.commits_behind === 1 ? '' : 's'} behind ${d.from.target} (${d.commits_ahead} ahead)`,
        );
      } else out.push(`  commits behind: unknown (${d.warnings[0] ?? 'git failed'})`);
      out.push('');
      if (d.components.length === 0) out.push('no components deployed in either target', '');
      else {
        const cell = (s: (typeof d.components)[number]['from']) => (s ? `${s.release ?? '-'} ${short(s.commit)}` : c.dim('not deployed'));
        out.push(
          table(
            ['COMPONENT', d.from.target.toUpperCase(), d.to.target.toUpperCase(), 'CHANGED'],
            d.components.map((x) => [x.component, cell(x.from), cell(x.to), x.changed ? c.yellow('yes') : 'no']),
            c,
          ),
        );
      }
      if (d.commits !== null) {
        if (d.commits.length === 0) out.push('commits: none');
        else {
          out.push(`commits (${d.commits_truncated ? `newest ${d.commits.length} of ${d.commits_behind}` : d.commits.length}, newest first):`);
          for (const l of d.commits) out.push(`  ${c.cyan(l.sha.slice(0, 12))}  ${esc(l.date.slice(0, 10))}  ${esc(l.author)}  ${esc(l.subject)}`);
        }
        out.push('');
      }
      if (d.configuration_changes !== null) {
        if (d.configuration_changes.length === 0) out.push(`configuration changes: none (in ${d.configuration_paths.join(', ')})`);
        else {
          out.push(`configuration changes (${d.configuration_changes.length}, in ${d.configuration_paths.join(', ')}):`);
          for (const f of d.configuration_changes) out.push(`  ${f.status}  ${f.old_path ? `${esc(f.old_path)} → ${esc(f.path)}` : esc(f.path)}`);
        }
        out.push('');
      }
      return out.join('\n').replace(/\n+$/, '') + '\n';
    });
    return 0;
  }
}
