import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import type { DeploymentConfig } from '../../config/deployment.js';
import type { Repository } from '../../index.js';
import type { StatusEntry } from '../../tracking/history.js';
import { BaseCommand, FORMATS } from '../base.js';

/** Status rows of these deployments from the local records; none outside a Git repository. */
async function localStatus(repo: Repository, names: string[]): Promise<StatusEntry[]> {
  const { GitError, GitRepo } = await import('../../tracking/git.js');
  const { readStatus } = await import('../../tracking/history.js');
  try {
    return await readStatus(new GitRepo(repo.config.repoRoot), names);
  } catch (e) {
    if (e instanceof GitError) return []; // not a Git repository: nothing deployed to show
    throw e;
  }
}

export class ListCommand extends BaseCommand {
  static override paths = [['list'], ['ls']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'List the deployments of this repository',
    details: `
      Reads every file under \`deployments.base_path\` (default \`deployments/\`). \`--label k=v\` (repeatable) keeps deployments whose labels match all given pairs. LAST DEPLOY is the newest deployment this repository's Git records (any target; run \`sync\` first to see a remote's).

      \`--verbose\` shows each deployment as \`describe\` does in the PRD: description, labels, stacks, its components with what each depends on (resolved for the default target, or the first), and its targets with their context and promotion rules.

      Sub-lists: \`list deployments\` (the same), \`list targets <d>\`, \`list components <d> --target t\`.
    `,
    examples: [
      ['List every deployment', '$0 list'],
      ['Deployments of the payments team, as JSON', '$0 list --label team=payments --format json'],
      ['Every deployment in detail', '$0 list --verbose'],
    ],
  });

  labels = Option.Array('-l,--label', [], { description: 'Filter by label (k=v), repeatable' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const filters: [string, string][] = [];
    for (const l of this.labels) {
      const i = l.indexOf('=');
      if (i <= 0) throw new lib.DiagnosticError(lib.error('args/label', `--label "${l}" must look like key=value`, undefined, 'e.g. --label team=payments'));
      filters.push([l.slice(0, i), l.slice(i + 1)]);
    }
    const repo = await this.repoWithModules();
    const deps: DeploymentConfig[] = [];
    for (const f of lib.listDeploymentFiles(repo.config)) {
      const dep = lib.loadDeploymentAt(repo, f.abs);
      const labels = (dep.body.labels ?? {}) as Record<string, string>;
      if (filters.every(([k, v]) => labels[k] === v)) deps.push(dep);
    }
    const { deploymentRow } = await import('../../describe/list.js');
    const status = await localStatus(
      repo,
      deps.map((d) => d.name),
    );
    const rows = deps.map((d) => deploymentRow(d, status));
    if (this.verbose) return this.printVerbose(repo, deps, rows);
    const { table } = await import('../../render/index.js');
    const { ageCell, componentsCell } = await import('../render/list.js');
    const now = Date.now();
    const ages = rows.map((r) => ageCell(r.last_deploy?.timestamp ?? null, now, r.last_deploy?.target));
    await this.print({ deployments: rows }, (c) =>
      rows.length === 0
        ? 'no deployments match\n'
        : table(
            ['DEPLOYMENT', 'TARGETS', 'COMPONENTS', 'LAST DEPLOY', 'LABELS', 'DESCRIPTION'],
            rows.map((r, i) => [
              r.name,
              r.targets.join(', '),
              componentsCell(r.components),
              ages[i],
              Object.entries(r.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              r.description,
            ]),
            c,
          ),
    );
    return 0;
  }

  /** `--verbose`: the PRD's describe-style block per deployment. */
  private async printVerbose(repo: Repository, deps: DeploymentConfig[], rows: import('../../describe/list.js').DeploymentRow[]): Promise<number> {
    const lib = await import('../../index.js');
    const { promotionGraph } = await import('../../promotion/graph.js');
    const detailed: (import('../../describe/list.js').DeploymentRow & {
      stacks: string[];
      resolved_for: string | null;
      component_details: { address: string; depends_on: string[]; wave: number }[];
      target_details: { name: string; description: string; context: Record<string, unknown>; stacks: string[]; promotion_from: string[]; requires_approval: boolean }[];
    })[] = [];
    for (const [i, dep] of deps.entries()) {
      const target = lib.defaultTarget(dep) ?? Object.keys(dep.body.targets)[0];
      const resolved = target === undefined ? undefined : await lib.resolve(repo, dep, target);
      if (resolved) await this.warn(resolved.warnings);
      const graph = promotionGraph(dep);
      const stackName = (s: string | { path: string }) => (typeof s === 'string' ? s : s.path);
      detailed.push({
        ...rows[i],
        stacks: (dep.body.stacks ?? []).map(stackName),
        resolved_for: target ?? null,
        component_details: (resolved?.components ?? []).map((c) => ({ address: c.address, depends_on: [...c.depends_on], wave: c.wave })),
        target_details: graph.targets.map((t) => {
          const body = dep.body.targets[t.name];
          return {
            name: t.name,
            description: body?.description ?? '',
            context: (body?.context ?? {}) as Record<string, unknown>,
            stacks: (body?.stacks ?? []).map(stackName),
            promotion_from: t.from,
            requires_approval: t.requires_approval,
          };
        }),
      });
    }
    await this.print({ deployments: detailed }, () => {
      if (detailed.length === 0) return 'no deployments match\n';
      const scalar = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
      const blocks = detailed.map((d) => {
        const out = [`Deployment: ${d.name}`];
        if (d.description) out.push(`Description: ${d.description}`);
        if (Object.keys(d.labels).length)
          out.push(
            `Labels: ${Object.entries(d.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`,
          );
        out.push(`File: ${d.file}`);
        out.push(`Stacks: ${d.stacks.length ? d.stacks.join(', ') : '(none)'}`);
        out.push(`Targets: ${d.targets.join(', ')}`);
        out.push(`Last deploy: ${d.last_deploy ? `${d.last_deploy.timestamp} (${d.last_deploy.target}, ${d.last_deploy.status ?? '-'})` : 'never'}`);
        out.push('');
        out.push(`Components${d.resolved_for ? ` (resolved for ${d.resolved_for})` : ''}:`);
        for (const c of d.component_details) out.push(`  ${c.address}${c.depends_on.length ? ` (depends: ${c.depends_on.join(', ')})` : ''}`);
        out.push('');
        out.push('Targets:');
        for (const t of d.target_details) {
          const ctx = Object.entries(t.context)
            .map(([k, v]) => `${k}=${scalar(v)}`)
            .join(', ');
          const promo = t.promotion_from.length
            ? `from ${t.promotion_from.join(', ')}${t.requires_approval ? ', requires approval' : ''}`
            : `entry point${t.requires_approval ? ', requires approval' : ''}`;
          out.push(`  ${t.name}: ${ctx || '(no context)'}  [${promo}${t.stacks.length ? `; stacks ${t.stacks.join(', ')}` : ''}]`);
        }
        return out.join('\n');
      });
      return `${blocks.join('\n\n')}\n`;
    });
    return 0;
  }
}
