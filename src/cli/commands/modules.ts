import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import type { InputDoc } from '../../extensions/inputs.js';
import { BaseCommand, FORMATS } from '../base.js';

/** One input as a table cell: `url: string`, `retries?: number = 3`. */
function inputCell(i: InputDoc): string {
  return `${i.key}${i.optional ? '?' : ''}: ${i.type}${i.default !== undefined ? ` = ${JSON.stringify(i.default)}` : ''}`;
}

export class ModulesCommand extends BaseCommand {
  static override paths = [['modules']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: "List the modules and pipelines a run can use: built-in, the repository's own and vendored",
    details: `
      Loads the repository's modules (\`modules/<name>/index.{ts,mts,js,mjs}\`) and pipelines (\`pipelines/<name>.{ts,mts,js,mjs}\`; the directories are \`deployments.modules.paths\` and \`deployments.pipelines.paths\` in atmos.yaml), TypeScript without a build step, and the remote modules the pipelines name by source, fetching and pinning those not yet in \`modules.lock.yaml\` (refused in CI: \`CI=true\`).

      For each module: what names it (\`useModule(…)\`, \`uses:\`), where it comes from (built-in, the repository's file, or the pinned source) with its content digest, its inputs from its zod schema (key, type, optional, default, description), and what it provides: a component type (its vars and outputs), or step hooks (the \`steps.before_<stage>\` / \`after_<stage>\` keys it can be used at). For each component type: the module providing it and the stages its components' hooks run around. For each pipeline: its origin and stages.
    `,
    examples: [
      ['Every module and pipeline', '$0 modules'],
      ['As JSON (inputs with types, defaults and descriptions)', '$0 modules --format json'],
    ],
  });

  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { listExtensions } = await import('../../extensions/listing.js');
    const listing = listExtensions(await this.extensions());
    const { table } = await import('../../render/index.js');
    await this.print(listing, (c) => {
      const origin = (o: { kind: string; file?: string; digest: string }) => (o.kind === 'builtin' ? 'built-in' : `${o.kind} ${o.file} (${o.digest.slice(0, 19)})`);
      const provides = (m: (typeof listing.modules)[number]) => (m.componentType ? `component type ${m.componentType.name}` : m.hooks.length ? 'step hooks (steps.before_/after_<stage>)' : '');
      const modules = table(
        ['MODULE', 'ORIGIN', 'INPUTS', 'PROVIDES', 'DESCRIPTION'],
        listing.modules.map((m) => [m.uses === m.name ? m.name : `${m.name} (${m.uses})`, origin(m.origin), m.inputs.map(inputCell).join(', '), provides(m), m.description]),
        c,
      );
      const declared = new Map(listing.modules.flatMap((m) => (m.componentType ? [[m.componentType.name, m.componentType] as const] : [])));
      const types = table(
        ['COMPONENT TYPE', 'MODULE', 'VARS', 'OUTPUTS', 'HOOK STAGES'],
        listing.componentTypes.map((t) => {
          const d = declared.get(t.name);
          return [t.name, t.module ?? 'built-in', d ? d.vars.map(inputCell).join(', ') : '', d ? Object.keys(d.outputs).join(', ') : '', t.hookStages.join(', ') || '(none)'];
        }),
        c,
      );
      const pipelines = table(
        ['PIPELINE', 'ORIGIN', 'STAGES', 'DESCRIPTION'],
        listing.pipelines.map((p) => [p.name, origin(p.origin), p.stages.map((s) => `${s.name} (${s.module})`).join(', '), p.description]),
        c,
      );
      return `${modules}\n${types}\n${pipelines}`;
    });
    return 0;
  }
}
