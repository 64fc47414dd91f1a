import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class PromotionStatusCommand extends TrackingReadCommand {
  static override paths = [['promotion-status']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Show pending promotions, their approvals and the next command to run',
    details: `
      For every promotion edge (\`from → to\`, see \`promotion-graph\`): the release running in the source and in the destination, whether the destination is behind (a promotion is pending), whether an approval is required and recorded for the pending release (Git notes \`refs/notes/atmos/<d>/approvals\` on its commit), and the exact command to run next.

      States: \`up-to-date\`, \`pending\` (run the rollout), \`awaiting-approval\` (approve first), \`nothing-to-promote\` (the source was never deployed), \`dirty-source\` (the source runs a dirty release, which is never promoted: commit, then roll the source out again).

      Reads Git with a constant number of processes whatever the number of tags: one \`git for-each-ref\`, plus one \`git notes list\` and one \`git cat-file --batch\` for the approvals of all pending releases.
    `,
    examples: [
      ['What is waiting to be promoted', '$0 promotion-status payment-service'],
      ['As JSON (next_command per edge)', '$0 promotion-status payment-service --format json'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { lib, repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const g = lib.promotionGraph(dep);
    const { readPromotionStatus } = await import('../../promotion/status.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const { formatAge } = await import('../../tracking/history.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const st = g.edges.length === 0 ? { deployment: dep.name, edges: [] } : await gitRead(async () => readPromotionStatus(await this.trackingStore(repo), g, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const now = Date.now();
    const { table } = await import('../../render/index.js');
    await this.print(st, (c) => {
      if (st.edges.length === 0) return `deployment "${dep.name}" has no promotion paths (every target is an entry point)\n`;
      const runs = (s: (typeof st.edges)[number]['source']) => (s ? `${s.release ?? 'no release'} (${s.commit.slice(0, 12)}, ${formatAge(s.timestamp, now)})` : c.dim('never deployed'));
      const stateCol = (s: string) => (s === 'up-to-date' ? c.green(s) : s === 'pending' ? c.yellow(s) : s === 'awaiting-approval' || s === 'dirty-source' ? c.red(s) : c.dim(s));
      const approval = (e: (typeof st.edges)[number]) =>
        !e.approval.required ? '-' : e.approval.recorded ? `approved by ${e.approval.approved_by.join(', ')}` : e.pending ? 'required, not recorded' : 'required';
      const out = [
        table(
          ['FROM', 'TO', 'SOURCE RUNS', 'DESTINATION RUNS', 'STATE', 'APPROVAL'],
          st.edges.map((e) => [e.from, e.to, runs(e.source), runs(e.destination), stateCol(e.state), approval(e)]),
          c,
        ),
      ];
      const next = st.edges.filter((e) => e.next_command);
      if (next.length === 0) out.push('nothing to promote\n');
      else {
        out.push('next:');
        const w = Math.max(...next.map((e) => e.next_command!.length));
        for (const e of next) out.push(`  ${e.next_command!.padEnd(w)}${c.dim(`   # ${e.from} → ${e.to}`)}`);
        out.push('');
      }
      return out.join('\n');
    });
    return 0;
  }
}
