import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

export class PromotionGraphCommand extends BaseCommand {
  static override paths = [['promotion-graph']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Show the configured promotion paths between targets',
    details: `
      Targets without a \`promotion\` rule are entry points and accept any commit. A target with \`promotion.from\` (or \`allowed_from\`) only accepts what is running in its source target; \`requires_approval\` adds an approval gate.

      \`--show-status\` annotates every target with what it runs, read from Git (one \`git for-each-ref\` whatever the number of tags): the release and commit of its newest deployment that did not fail, and its age. In JSON and YAML every target gets a \`status\` object (null fields when never deployed). See \`promotion-status\` for pending promotions.
    `,
    examples: [
      ['Promotion paths', '$0 promotion-graph payment-service'],
      ['As JSON', '$0 promotion-graph payment-service --format json'],
      ['With what each target runs', '$0 promotion-graph payment-service --show-status'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  format = Option.String('-f,--format', 'table', { description: 'table, json, yaml, dot or mermaid', validator: t.isEnum(['table', 'json', 'yaml', 'dot', 'mermaid']) });
  showStatus = Option.Boolean('--show-status', false, { description: 'Annotate each target with its current release, commit and age, read from Git (table, json, yaml)' });

  async run(): Promise<number> {
    const { lib, repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const g = lib.promotionGraph(dep);
    if (this.format === 'dot') {
      const q = (s: string) => JSON.stringify(s);
      const lines = [`digraph ${q(g.deployment)} {`, '  rankdir=LR;'];
      for (const tt of g.targets) lines.push(`  ${q(tt.name)}${tt.entry_point ? ' [shape=doublecircle]' : ''};`);
      for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.requires_approval ? ' [label="approval"]' : ''};`);
      this.write(lines.join('\n') + '\n}\n');
      return 0;
    }
    if (this.format === 'mermaid') {
      const lines = ['graph LR'];
      for (const e of g.edges) lines.push(`  ${e.from} -->${e.requires_approval ? '|approval|' : ''} ${e.to}`);
      for (const tt of g.targets) if (tt.from.length === 0 && !g.edges.some((e) => e.from === tt.name)) lines.push(`  ${tt.name}`);
      this.write(lines.join('\n') + '\n');
      return 0;
    }
    const { table } = await import('../../render/index.js');
    if (this.showStatus) {
      const { readTargetStatus } = await import('../../promotion/status.js');
      const { trackingRepo, gitRead, invalidTagWarnings } = await import('../tracking-read.js');
      const invalid: import('../../tracking/history.js').InvalidTag[] = [];
      const status = await gitRead(() => readTargetStatus(trackingRepo(repo.config.repoRoot), g, invalid));
      await this.warn(invalidTagWarnings(invalid));
      const annotated = { ...g, targets: g.targets.map((tt) => ({ ...tt, status: status[tt.name] })) };
      await this.print(annotated, (c) => {
        return (
          lib.renderPromotionAscii(g) +
          '\n' +
          table(
            ['TARGET', 'ACCEPTS', 'APPROVAL', 'RELEASE', 'COMMIT', 'AGE'],
            annotated.targets.map((tt) => [
              tt.name,
              tt.entry_point ? 'any commit (entry point)' : `promotion from ${tt.from.join(' or ')}`,
              tt.requires_approval ? 'required' : '-',
              tt.status.commit === null ? c.dim('never deployed') : (tt.status.release ?? '-'),
              tt.status.commit === null ? '-' : tt.status.commit.slice(0, 12),
              tt.status.age ?? '-',
            ]),
            c,
          )
        );
      });
      return 0;
    }
    await this.print(g, (c) => {
      return (
        lib.renderPromotionAscii(g) +
        '\n' +
        table(
          ['TARGET', 'ACCEPTS', 'APPROVAL'],
          g.targets.map((tt) => [tt.name, tt.entry_point ? 'any commit (entry point)' : `promotion from ${tt.from.join(' or ')}`, tt.requires_approval ? 'required' : '-']),
          c,
        )
      );
    });
    return 0;
  }
}
