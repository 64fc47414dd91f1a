import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class ValidateCommand extends BaseCommand {
  static override paths = [['validate']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Check deployments without running anything',
    details: `
      Validates the deployment file (schema, names, promotion rules), loads its stacks for every target, resolves templates and bindings, checks the component graph for cycles, and checks every step hook: its \`uses:\` names a registered module and its \`with:\` passes the module's input schema. Every problem is reported with file:line:col and a hint. Exits 2 when any error is found.
    `,
    examples: [
      ['Validate one deployment', '$0 validate payment-service'],
      ['Validate every deployment of the repository', '$0 validate --all'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  all = Option.Boolean('-a,--all', false, { description: 'Validate every deployment' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    if (this.deployment !== undefined) {
      const p = checkKebabName(this.deployment);
      if (p) throw new lib.DiagnosticError(lib.error('args/deployment-name', `invalid deployment name "${this.deployment}": ${p}`, undefined, 'deployment names look like "payment-service"'));
    }
    if (this.all && this.deployment) throw new lib.DiagnosticError(lib.error('args/conflict', 'give a deployment or --all, not both'));
    const repo = await this.repoWithModules();
    const which = this.all ? 'all' : this.deployment ? [this.deployment] : lib.listDeploymentFiles(repo.config).length === 1 ? 'all' : [];
    if (Array.isArray(which) && which.length === 0) {
      const names = lib.listDeploymentFiles(repo.config).map((d) => d.name);
      throw new lib.DiagnosticError(lib.error('args/deployment-required', 'name a deployment or pass --all', undefined, names.length ? `valid values: ${names.join(', ')}` : 'no deployments found'));
    }
    // Hooks name modules, and modules declare component types: the built-in ones and the repository's own.
    const { modules } = await this.extensions();
    const results = await lib.validateDeployments(repo.config, repo.files, which, modules);
    const errors = results.reduce((n, r) => n + r.errors.length, 0);
    const warnings = results.reduce((n, r) => n + r.warnings.length, 0);
    const f = this.outputFormat();
    if (f !== 'table') {
      await this.print({ ok: errors === 0, errors, warnings, deployments: results }, () => '');
    } else {
      const { renderDiagnostic } = await import('../../render/index.js');
      const c = await this.colors('stderr');
      for (const r of results) {
        for (const d of r.errors) this.context.stderr.write(renderDiagnostic(d, c));
        if (!this.quiet) for (const d of r.warnings) this.context.stderr.write(renderDiagnostic(d, c));
        const mark = r.ok ? c.green('✓') : c.red('✗');
        const detail = r.ok
          ? `${r.targets.length} target${r.targets.length === 1 ? '' : 's'} (${r.targets.join(', ')}), ${r.components} component${r.components === 1 ? '' : 's'}, ${r.stacks} stack file${r.stacks === 1 ? '' : 's'}`
          : `${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`;
        if (!this.quiet || !r.ok) this.write(`${mark} ${r.deployment}: ${detail}${r.warnings.length ? `, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : ''}\n`);
      }
      if (!this.quiet)
        this.write(`${results.length} deployment${results.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
    }
    await this.reportToCi(results.flatMap((r) => r.errors));
    const { exitCode } = await import('../exit.js');
    return exitCode(errors > 0 ? 'invalid' : 'success');
  }
}
