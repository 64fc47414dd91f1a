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

      Every run checks the promotion rules the PRD lists (\`from\` and \`allowed_from\` exclusive, every source an existing target, no target promoting from itself, no cycles). \`--check-promotions\` also checks the approval rules (an \`approval.distinct_approver\` on a target, or the deployment, whose rollouts never need an approval is an error: it would never apply) and warns when \`context.default_target\` only accepts promotions; it prints the promotion paths, entry points and approval gates of each deployment (\`promotion\` in JSON).
    `,
    examples: [
      ['Validate one deployment', '$0 validate payment-service'],
      ['Validate every deployment of the repository', '$0 validate --all'],
      ['Validate, then rewrite short-form files into the long form', '$0 validate --all --fix'],
      ['Validate the promotion paths and approval rules too', '$0 validate payment-service --check-promotions'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  all = Option.Boolean('-a,--all', false, { description: 'Validate every deployment' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });
  fix = Option.Boolean('--fix', false, { description: 'When valid, rewrite short-form files into the long form (as `fmt` does)' });
  checkPromotions = Option.Boolean('--check-promotions', false, { description: 'Also check the approval rules and print the promotion paths' });

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
    const validated = await lib.validateDeployments(repo.config, repo.files, which, modules);
    const results: (import('../../validate/index.js').ValidationResult & { promotion?: Omit<import('../../promotion/check.js').PromotionCheck, 'errors' | 'warnings'> })[] = validated;
    if (this.checkPromotions) {
      const { checkPromotions } = await import('../../promotion/check.js');
      for (const r of results) {
        if (!r.ok) continue; // its own errors first: a file that does not load has no promotion graph
        const { errors, warnings, ...promotion } = checkPromotions(lib.loadDeployment(repo, r.deployment));
        r.errors.push(...errors);
        r.warnings.push(...warnings);
        r.ok = r.errors.length === 0;
        r.promotion = promotion;
      }
    }
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
        if (r.promotion && !this.quiet) {
          const p = r.promotion;
          this.write(`  ${r.ok ? c.green('✓') : c.red('✗')} promotion rules${r.ok ? ' valid: every source exists, no cycles, approval rules apply' : ': see the errors above'}\n`);
          for (const line of p.paths) this.write(`    promotion path: ${line}\n`);
          this.write(`    entry points: ${p.entry_points.join(', ') || '(none)'}; approval required: ${p.approval_required.join(', ') || '(none)'}\n`);
        }
      }
      if (!this.quiet)
        this.write(`${results.length} deployment${results.length === 1 ? '' : 's'} checked: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
    }
    await this.reportToCi(results.flatMap((r) => r.errors));
    if (this.fix && errors === 0) {
      const { rewriteShortForms } = await import('./fmt.js');
      // With --format json/yaml stdout is the report: what was rewritten goes to stderr.
      return rewriteShortForms(repo, which, { check: false, quiet: true, write: (s) => (f === 'table' ? this.write(s) : this.context.stderr.write(s)) });
    }
    const { exitCode } = await import('../exit.js');
    return exitCode(errors > 0 ? 'invalid' : 'success');
  }
}
