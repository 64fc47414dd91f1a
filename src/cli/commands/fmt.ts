import { Command, Option } from 'clipanion';
import type { Repository } from '../../index.js';
import { BaseCommand } from '../base.js';

/** Rewrite short-form deployment files into the long form (shared by `fmt` and `validate --fix`); the exit code. */
export async function rewriteShortForms(repo: Repository, names: string[] | 'all', opts: { check: boolean; quiet: boolean; write: (s: string) => void }): Promise<number> {
  const { check, write } = opts;
  const { formatDeploymentFiles } = await import('../../config/fmt.js');
  const { declaredComponentTypes } = await import('../../module/define.js');
  const results = await formatDeploymentFiles(repo.config, repo.files, names, declaredComponentTypes(repo.modules), { check });
  const due = results.filter((r) => r.rewrite);
  for (const r of due) write(check ? `${r.file}: short form; \`atmos-pipe fmt\` rewrites it into the long form\n` : `${r.file}: rewritten into the long form\n`);
  if (!opts.quiet && due.length === 0) write(`${results.length} deployment file${results.length === 1 ? '' : 's'} already in the long form\n`);
  const { exitCode } = await import('../exit.js');
  return exitCode(check && due.length ? 'failed' : 'success');
}

export class FmtCommand extends BaseCommand {
  static override paths = [['fmt']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'Rewrite short-form deployment files into the long form',
    details: `
      A deployment file may be written in the short form of the PRD's quick start: its keys at the top level without the \`deployment:\` wrapper, and components given as lists of names (a Terraform name is the Atmos component of that name; a nixpack name is built from \`<components.nixpack.base_path>/<name>\`, default \`services/<name>\`). It means exactly the long form; \`fmt\` writes that long form into the file, keeping its comments.

      Every named file (all, when none is named) is validated first: with any error nothing is written and the exit code is 2. \`--check\` writes nothing and exits 1 when a file is due for a rewrite (for CI). \`validate --fix\` does the same after validating.
    `,
    examples: [
      ['Rewrite every deployment file', '$0 fmt'],
      ['Rewrite one', '$0 fmt payment-service'],
      ['Fail when a file is in the short form (CI)', '$0 fmt --check'],
    ],
  });

  deployments = Option.Rest({ name: 'deployment' });
  check = Option.Boolean('--check', false, { description: 'Write nothing; exit 1 when a file would be rewritten' });

  async run(): Promise<number> {
    const repo = await this.repoWithModules();
    return rewriteShortForms(repo, this.deployments.length ? this.deployments : 'all', { check: this.check, quiet: this.quiet, write: (s) => this.write(s) });
  }
}
