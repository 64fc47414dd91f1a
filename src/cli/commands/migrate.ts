import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class MigrateCommand extends BaseCommand {
  static override paths = [['migrate']];
  static override usage = Command.Usage({
    category: 'Get started',
    description: 'Write a deployment file from an existing Atmos top-level stack',
    details: `
      Reads the stack (an Atmos stack name such as \`plat-ue2-dev\`, or its file path) and writes \`deployments/<name>.yaml\` whose \`describe --target <target>\` resolves every component exactly as \`atmos describe component <c> -s <stack>\` does. When the stack file's own content can be carried in the deployment, the deployment lists the file's imports and carries the rest (the parent stack is then no longer needed); otherwise the target lists the stack file itself. Both are checked by resolving the result before anything is written.

      Prints what it could not carry (abstract, disabled or helmfile components). Never overwrites a deployment file without \`--force\`.
    `,
    examples: [
      ['Preview the deployment for a stack', '$0 migrate --from-stack plat-ue2-prod --name platform --target prod --dry-run'],
      ['Write it', '$0 migrate --from-stack orgs/acme/prod --name platform --target prod'],
      ['Only some components', '$0 migrate --from-stack plat-ue2-dev --name api --component ecr/api --component ecs/api'],
    ],
  });

  fromStack = Option.String('--from-stack', { required: true, description: 'The top-level stack: an Atmos stack name or a stack file path' });
  name = Option.String('-n,--name', { required: true, description: 'Name of the new deployment (kebab-case)' });
  component = Option.Array('--component', { description: 'Only this component (repeatable; default: every deployable one)' });
  target = Option.String('-t,--target', 'dev', { description: 'The target the stack becomes (default: dev)' });
  output = Option.String('-o,--output', { description: 'Write here instead of <deployments>/<name>.yaml' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print the deployment file, write nothing' });
  force = Option.Boolean('--force', false, { description: 'Replace an existing deployment file' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    const pn = checkKebabName(this.name);
    if (pn) throw new lib.DiagnosticError(lib.error('args/deployment-name', `invalid --name "${this.name}": ${pn}`, undefined, 'deployment names look like "payment-service"'));
    const pt = checkKebabName(this.target);
    if (pt) throw new lib.DiagnosticError(lib.error('args/target-name', `invalid --target "${this.target}": ${pt}`, undefined, 'targets look like dev, staging, prod'));
    const repo = await this.repo();
    const { migrate, deploymentPath } = await import('../../onramp/migrate.js');
    const out = deploymentPath(repo, this.name, this.output);
    if (this.output && !/\.ya?ml$/.test(out.abs))
      throw new lib.DiagnosticError(lib.error('args/output', `--output ${this.output}: a deployment file ends in .yaml`, undefined, `e.g. --output deployments/${this.name}.yaml`));
    if (this.output) {
      const { containmentProblem } = await import('../../config/paths.js');
      const p = containmentProblem(repo.config.repoRoot, this.output, { what: '--output', code: 'args/output' });
      if (p) throw new lib.DiagnosticError(p);
      const base = (await import('node:path')).basename(out.abs).replace(/\.ya?ml$/, '');
      if (base !== this.name)
        throw new lib.DiagnosticError(
          lib.error('args/output', `--output ${this.output}: a deployment's file name must equal its name "${this.name}"`, undefined, `e.g. --output deployments/${this.name}.yaml`),
        );
    }
    if (out.exists && !this.force && !this.dryRun) {
      throw new lib.DiagnosticError(lib.error('migrate/exists', `${out.file} already exists`, { file: out.file, line: 1, col: 1 }, 'choose another --name, or pass --force to replace it'));
    }
    const r = await migrate(repo, { fromStack: this.fromStack, name: this.name, target: this.target, components: this.component, file: out.file });
    if (!this.dryRun) {
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const path = await import('node:path');
      mkdirSync(path.dirname(out.abs), { recursive: true });
      writeFileSync(out.abs, r.text, this.force ? {} : { flag: 'wx' });
    }
    const result = {
      file: out.file,
      written: !this.dryRun,
      stack: r.stackFile,
      layout: r.layout,
      layout_reason: r.layoutReason ?? null,
      target: this.target,
      components: r.components,
      not_carried: r.report,
    };
    if (this.outputFormat() !== 'table') {
      await this.print(this.dryRun ? { ...result, text: r.text } : result, () => '');
      return 0;
    }
    if (this.dryRun) this.write(r.text);
    const c = await this.colors();
    // Dry run: stdout is the file alone (pipeable); otherwise the summary is the result.
    const err = this.dryRun ? this.context.stderr : this.context.stdout;
    err.write(`${this.dryRun ? 'Would write' : c.green('Wrote')} ${out.file}: ${r.components.length} component${r.components.length === 1 ? '' : 's'} from ${r.stackFile} as target ${this.target}\n`);
    err.write(
      r.layout === 'imports'
        ? `  layout: the stack's imports, with what ${r.stackFile} adds carried in the deployment (the stack file itself is no longer needed)\n`
        : `  layout: the target lists ${r.stackFile} itself${r.layoutReason ? ` (the imports alone would not be exact: ${r.layoutReason})` : ''}\n`,
    );
    if (r.report.length) {
      err.write('  not carried:\n');
      for (const line of r.report) err.write(`    ${line}\n`);
    }
    if (!this.dryRun) err.write(`Next: atmos-pipe validate ${this.name} && atmos-pipe describe ${this.name} --target ${this.target}\n`);
    return 0;
  }
}
