import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { TrackingReadCommand } from '../read-command.js';

export class PromotionGraphCommand extends TrackingReadCommand {
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
    const r = await import('../render/promotion.js');
    if (this.format === 'dot' || this.format === 'mermaid') {
      this.write(this.format === 'dot' ? r.renderPromotionDot(g) : r.renderPromotionMermaid(g));
      return 0;
    }
    if (!this.showStatus) {
      await this.print(g, (c) => r.renderPromotionTable(g, c));
      return 0;
    }
    const { readTargetStatus } = await import('../../promotion/status.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const status = await gitRead(async () => readTargetStatus(await this.trackingStore(repo), g, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const annotated = { ...g, targets: g.targets.map((t) => ({ ...t, status: status[t.name] })) };
    await this.print(annotated, (c) => r.renderPromotionStatus(g, status, c));
    return 0;
  }
}
