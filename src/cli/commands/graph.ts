import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

export class GraphCommand extends BaseCommand {
  static override paths = [['graph']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Show the component dependency graph of a deployment',
    details: `
      Edges come from \`depends_on\`, template references (\`{{ terraform.<c>.outputs.<o> }}\`, \`{{ nixpack.<c>.image }}\`) and image bindings. Waves are topological generations: every component of a wave can run in parallel once the previous waves are done.
    `,
    examples: [
      ['Waves as a tree', '$0 graph payment-service --target dev'],
      ['Graphviz', '$0 graph payment-service --target dev --format dot | dot -Tsvg > graph.svg'],
      ['Mermaid for a pull request', '$0 graph payment-service --target prod --format mermaid'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  format = Option.String('-f,--format', 'ascii', { description: 'ascii, dot, mermaid or json', validator: t.isEnum(['ascii', 'dot', 'mermaid', 'json', 'table']) });

  async run(): Promise<number> {
    const { lib, repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const resolved = await lib.resolve(repo, dep, target);
    await this.warn(resolved.warnings);
    this.write(lib.renderGraph(resolved, lib.buildComponentGraph(resolved), this.format === 'table' ? 'ascii' : (this.format as 'ascii')));
    return 0;
  }
}
