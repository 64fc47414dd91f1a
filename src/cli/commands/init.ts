import { Cli, Command, Option, type CommandClass } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class InitCommand extends BaseCommand {
  static override paths = [['init']];
  static override usage = Command.Usage({
    category: 'Get started',
    description: 'Scaffold a working repository, or complete an existing Atmos one',
    details: `
      In an empty directory: writes atmos.yaml, one stack, one offline Terraform module (terraform_data and local-exec only), one deployment with its targets (each promoted from the one before, the last with an approval) and a .gitignore; outside any Git repository it runs \`git init\` and commits them, so \`validate\` and \`rollout <name> --target <first>\` work at once.

      In an existing Atmos repository (atmos.yaml or stack files present): writes only what is missing, never overwrites, and prints the commands to run next (\`migrate --from-stack …\`).

      Either way it writes the Atmos custom command \`deployment\` to \`.atmos.d/atmos-pipe.yaml\` (Atmos merges it into atmos.yaml's commands; atmos.yaml itself is not edited), so \`atmos deployment rollout <name> --target dev\` runs atmos-pipe inside Atmos; run init again to regenerate it (rewritten only when it changed). An atmos.yaml that already defines a \`deployment\` command keeps it, and the file is not written. On a terminal it asks for the name and targets; \`--yes\`, or no terminal, takes the defaults and the flags.
    `,
    examples: [
      ['Start a repository here, asking for the name and targets', '$0 init'],
      ['The same in CI, no questions', '$0 init --name hello --targets dev,staging,prod --yes'],
      ['Add atmos-pipe to an existing Atmos repository', '$0 init --name platform --chdir ~/src/infrastructure'],
    ],
  });

  /** The commands the Atmos custom command forwards (set by app.ts: every registered command). */
  static commandClasses: CommandClass[] = [];

  directory = Option.String({ required: false, name: 'directory' });
  name = Option.String('-n,--name', { description: 'Deployment name (kebab-case; default: the directory name)' });
  targets = Option.String('--targets', { description: 'Targets in promotion order, comma-separated (default: dev,prod)' });
  yes = Option.Boolean('-y,--yes', false, { description: 'Ask nothing: take the defaults for what no flag gives' });
  git = Option.Boolean('--git', { description: '--git: init and commit even a non-empty directory; --no-git: never touch Git' });
  atmosCommand = Option.Boolean('--atmos-command', true, { description: 'Write the `atmos deployment` custom command to .atmos.d/atmos-pipe.yaml, beside atmos.yaml (--no-atmos-command: do not)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print what would be written, write nothing' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const path = await import('node:path');
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    const dir = path.resolve(await this.cwd(), this.directory ?? '.');
    const check = (what: string, v: string, hint: string) => {
      const p = checkKebabName(v);
      if (p) throw new lib.DiagnosticError(lib.error(`args/${what}`, `invalid ${what === 'name' ? '--name' : '--targets entry'} "${v}": ${p}`, undefined, hint));
    };
    // Flags first: a bad one is refused before anything is asked or written.
    if (this.name !== undefined) check('name', this.name, 'deployment names are kebab-case, like "payment-service" (they name the file and Git refs)');
    const parseTargets = (s: string) => {
      const list = s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      if (!list.length) throw new lib.DiagnosticError(lib.error('args/targets', '--targets is empty', undefined, 'e.g. --targets dev,staging,prod'));
      for (const x of list) check('targets', x, 'target names are kebab-case, like dev, staging, prod');
      const dup = list.find((x, i) => list.indexOf(x) !== i);
      if (dup) throw new lib.DiagnosticError(lib.error('args/targets', `--targets names "${dup}" twice`, undefined, 'each target once, in promotion order'));
      return list;
    };
    let targets = this.targets !== undefined ? parseTargets(this.targets) : undefined;
    const fallbackName = path
      .basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63)
      .replace(/-+$/, '');
    const defaultName = fallbackName && !checkKebabName(fallbackName) ? fallbackName : 'hello';
    let name = this.name;
    const interactive = !this.yes && Boolean(process.stdin.isTTY) && Boolean((this.context.stderr as NodeJS.WriteStream).isTTY);
    if (interactive && (name === undefined || targets === undefined)) {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: this.context.stderr as NodeJS.WriteStream });
      // Lines typed (or pasted) ahead of a question are kept for it: read them in order from the line iterator.
      const lines = rl[Symbol.asyncIterator]();
      const ask = async (q: string): Promise<string> => {
        this.context.stderr.write(q);
        const r = await lines.next();
        if (r.done)
          throw new lib.DiagnosticError(lib.error('args/input-closed', 'the terminal closed before init had its answers', undefined, 'pass --name and --targets (or --yes) to run without questions'));
        return r.value;
      };
      try {
        while (name === undefined) {
          const a = (await ask(`Deployment name (${defaultName}): `)).trim() || defaultName;
          const p = checkKebabName(a);
          if (p) this.context.stderr.write(`  "${a}": ${p}\n`);
          else name = a;
        }
        while (targets === undefined) {
          const a = (await ask('Targets, in promotion order (dev,prod): ')).trim() || 'dev,prod';
          try {
            targets = parseTargets(a);
          } catch (e) {
            this.context.stderr.write(`  ${e instanceof lib.DiagnosticError ? e.diagnostics[0].message : String(e)}\n`);
          }
        }
      } finally {
        rl.close();
      }
    }
    name ??= defaultName;
    targets ??= ['dev', 'prod'];

    const { initRepository } = await import('../../onramp/init.js');
    const atmosCommand = this.atmosCommand ? await this.atmosCustomCommand() : undefined;
    const report = initRepository({ dir, name, targets, atmosCommand, git: this.git === undefined ? 'auto' : this.git ? 'always' : 'never', dryRun: this.dryRun });
    for (const w of report.warnings) this.context.stderr.write(`warning: ${w}\n`);
    await this.print(report, (c) => {
      const out: string[] = [];
      out.push(report.kind === 'new' ? `${c.bold('New repository')} in ${dir}` : `${c.bold('Existing Atmos repository')} in ${dir}: writing only what is missing`);
      for (const f of report.files) {
        const mark = f.action === 'skipped' ? c.dim('skipped') : c.green(f.action);
        out.push(`  ${mark.padEnd(f.action === 'skipped' ? 7 : f.action.length)}  ${f.path}${f.reason ? c.dim(`  (${f.reason})`) : ''}`);
      }
      for (const g of report.git) out.push(`  ${c.green('git')}      ${g}`);
      if (report.stacks.length) {
        out.push('', 'Stacks found (candidates for `migrate --from-stack`):');
        for (const s of report.stacks.slice(0, 10)) out.push(`  ${s}`);
        if (report.stacks.length > 10) out.push(`  … ${report.stacks.length - 10} more`);
      }
      out.push('', 'Next:');
      for (const n of report.next) out.push(`  ${n}`);
      return `${out.join('\n')}\n`;
    });
    return 0;
  }

  /** The `atmos deployment` custom command for every command this program has. */
  private async atmosCustomCommand() {
    const { atmosDeploymentCommand } = await import('../../onramp/atmos-command.js');
    const cli = new Cli({ binaryName: 'atmos-pipe' });
    for (const c of InitCommand.commandClasses) cli.register(c);
    const shapes = cli.definitions().map((d) => {
      const words = d.path.split(' ').slice(1);
      const rest = d.usage
        .split('\n')[0]
        .split(' ')
        .slice(1 + words.length);
      const positionals = rest
        .filter((w) => /^[<[][^-]/.test(w) && !w.includes('...'))
        .map((w) => ({ name: w.replace(/^[<[]|[>\]]$/g, '').replace(/[^A-Za-z0-9_]+/g, '_'), required: w.startsWith('<') }));
      const options = d.options.map((o) => {
        const names = o.definition.split(' ')[0].split(',');
        const long = names.find((n) => n.startsWith('--')) ?? names[0];
        return { name: long.replace(/^-+/, ''), boolean: !o.definition.includes('#'), description: o.description ?? '' };
      });
      return { path: words, description: d.description ?? '', positionals, options };
    });
    return atmosDeploymentCommand(shapes);
  }
}
