import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

export class AffectedCommand extends BaseCommand {
  static override paths = [['affected']];
  static override usage = Command.Usage({
    category: 'CI',
    description: 'List the deployments, targets and components whose inputs changed between two commits',
    details: `
      Compares the two commits with one \`git diff\` (content, not timestamps: a comment is a change) and matches the changed files against what each component of each target reads: the deployment file, atmos.yaml, every stack file the target loads (imports and \`.tmpl\` files included) and the files their \`!include\`s read, the repository's modules and pipelines (\`modules/\`, \`pipelines/\`, \`modules.lock.yaml\`), the component's Terraform module directory and the targets of the symlinks in it, or its nixpack source directory. Each affected component says why: which input, which file.

      Without \`--base\`: in a GitHub pull request the merge base with \`origin/$GITHUB_BASE_REF\`, in a GitLab merge request \`$CI_MERGE_REQUEST_DIFF_BASE_SHA\`, else (with a deployment and \`--target\`) the commit of the target's current release.

      \`--format matrix\` prints \`{"include":[{"deployment","target","component","wave","depends_on"}]}\` for a CI matrix (the shape of \`matrix\`, with the deployment and target).
    `,
    examples: [
      ['What this branch changes', '$0 affected --base origin/main'],
      ['Between two commits, with the components that depend on them', '$0 affected --base v1.2.0 --head HEAD --include-dependents'],
      ['What would change in prod since its current release', '$0 affected payment-service --target prod'],
      ['A GitHub Actions matrix', '$0 affected --base origin/main --format matrix'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  base = Option.String('--base', { description: 'The commit to compare with (default: from the CI environment, else the target’s current release)' });
  head = Option.String('--head', { description: 'The commit to compare (default: HEAD)' });
  includeDependents = Option.Boolean('--include-dependents', false, { description: 'Also the components that depend on an affected one' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or matrix', validator: t.isEnum(['table', 'json', 'matrix'] as const) });

  async run(): Promise<number> {
    const { affected, affectedMatrix } = await import('../../affected/index.js');
    const { checkKebabName } = await import('../../config/names.js');
    const { DiagnosticError, error } = await import('../../diagnostics/index.js');
    // Bad names on the command line are refused before Git or any file is read.
    if (this.deployment !== undefined) {
      const p = checkKebabName(this.deployment);
      if (p) throw new DiagnosticError(error('args/deployment-name', `invalid deployment name "${this.deployment}": ${p}`, undefined, 'deployment names look like "payment-service"'));
    }
    if (this.target !== undefined) {
      const p = checkKebabName(this.target);
      if (p) throw new DiagnosticError(error('args/target-name', `invalid --target "${this.target}": ${p}`, undefined, 'targets look like dev, staging, prod'));
    }
    const result = await affected(await this.repo(), {
      ...(this.base !== undefined ? { base: this.base } : {}),
      ...(this.head !== undefined ? { head: this.head } : {}),
      ...(this.deployment !== undefined ? { deployment: this.deployment } : {}),
      ...(this.target !== undefined ? { target: this.target } : {}),
      includeDependents: this.includeDependents,
    });
    if (this.format === 'json') return this.done(`${JSON.stringify(result, null, 2)}\n`);
    if (this.format === 'matrix') return this.done(`${JSON.stringify(affectedMatrix(result))}\n`);
    const { table } = await import('../../render/index.js');
    const range = `${result.base.sha.slice(0, 12)}..${result.head.sha.slice(0, 12)}`;
    const deleted = result.deployments.filter((d) => d.deleted).map((d) => `deployment ${d.deployment}: deleted\n`);
    if (result.components.length === 0) return this.done(`nothing affected in ${range} (${result.changed.length} file(s) changed)\n${deleted.join('')}`);
    const why = (r: (typeof result.components)[number]['reasons'][number]) => (r.input === 'dependency' ? `depends on ${r.component}` : `${r.input}: ${r.file}`);
    const rows = result.components.map((c) => [c.deployment, c.target, c.component, c.reasons.map(why).join(', ')]);
    return this.done(`${table(['DEPLOYMENT', 'TARGET', 'COMPONENT', 'WHY'], rows)}${deleted.join('')}`);
  }

  private done(text: string): number {
    this.write(text);
    return 0;
  }
}
