import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class DescribeCommand extends BaseCommand {
  static override paths = [['describe']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Show a deployment fully resolved for one target',
    details: `
      Resolves the deployment for the target: the listed stacks (Atmos semantics), the deployment's own vars, the target context keys each Terraform module declares, and nixpack image bindings. Prints the exact JSON shape of SPEC 11 with \`--format json\`.

      \`--provenance\` adds, for every resolved value, the file:line:col it came from.
    `,
    examples: [
      ['Resolve payment-service for dev as JSON', '$0 describe payment-service --target dev --format json'],
      ['Show where every value comes from', '$0 describe payment-service --target prod --provenance'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  provenance = Option.Boolean('--provenance', false, { description: 'Show the file:line each value came from' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { lib, repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const resolved = await lib.resolve(repo, dep, target);
    await this.warn(resolved.warnings);
    const d = lib.describe(resolved, { provenance: this.provenance });
    const { toYaml } = await import('../../render/index.js');
    await this.print(d, (c) => {
      const out: string[] = [];
      out.push(`${c.bold('deployment')} ${d.deployment}   ${c.bold('target')} ${d.target}`);
      out.push(`${c.bold('stacks')} ${d.stacks.length ? d.stacks.join(', ') : '(none)'}`);
      for (const comp of d.components) {
        out.push('');
        out.push(`${c.cyan(comp.address)}  ${c.dim(`wave ${comp.wave}${comp.component ? `, module ${comp.component}` : ''}${comp.depends_on.length ? `, after ${comp.depends_on.join(', ')}` : ''}`)}`);
        if (comp.backend_type) out.push(`  backend: ${comp.backend_type} ${JSON.stringify(comp.backend)}`);
        if (comp.workspace !== undefined) out.push(`  workspace: ${comp.workspace}   command: ${comp.command}`);
        for (const x of comp.dependencies ?? []) out.push(`  ${c.dim(`outside this deployment: ${JSON.stringify(x.entry)} (${x.reason})`)}`);
        for (const section of ['vars', 'settings', 'env'] as const) {
          const v = comp[section];
          if (!v || Object.keys(v).length === 0) continue;
          out.push(`  ${section}:`);
          if (comp.provenance) {
            for (const [k, where] of Object.entries(comp.provenance).filter(([k]) => k.startsWith(`${section}.`))) {
              const val = k
                .slice(section.length + 1)
                .split(/\.|\[(\d+)\]/)
                .filter(Boolean)
                .reduce<unknown>((o, seg) => (o as Record<string, unknown>)?.[seg], v);
              out.push(`    ${k.slice(section.length + 1)}: ${JSON.stringify(val)}  ${c.dim(`# ${where}`)}`);
            }
          } else {
            out.push(
              toYaml(v)
                .trimEnd()
                .split('\n')
                .map((l) => `    ${l}`)
                .join('\n'),
            );
          }
        }
        if (comp.hooks?.length) out.push('  steps:');
        for (const h of comp.hooks ?? []) {
          const args = Object.keys(h.with).length ? `  with ${JSON.stringify(h.with)}` : '';
          out.push(`    ${h.key}: ${h.uses}${h.name !== undefined ? ` (${h.name})` : ''}${args}  ${c.dim(`# ${h.level === 'component' ? 'its own' : `the ${h.level}'s`}`)}`);
        }
      }
      return `${out.join('\n')}\n`;
    });
    return 0;
  }
}
