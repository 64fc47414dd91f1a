/**
 * The `affected` group: `affected --base HEAD~1` between two commits of the generated
 * 1,000-stack / 10,000-instance repository, whole process, goal < 1 s. Anchor: Atmos's
 * `describe affected` took about 2 s on a real 9,261-instance repository after its 2026
 * fixes (4 min 06 s before).
 *
 * The change is committed in a local clone (the generated repository is shared by the other
 * groups): one stack file the deployment loads, one Terraform module and one stack file no
 * deployment loads. The output must name the affected components and only them. The same
 * comparison with head not checked out (read from a temporary worktree) is informational.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchGroup, Figure } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLI = path.join(BENCH_DIR, '..', 'cli.mjs');
const GIT_ENV = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

export const affectedGroup: BenchGroup = {
  name: 'affected',
  description: '`affected` between two commits of the generated repository (< 1 s; Atmos ~2 s)',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const repo = ctx.repo();
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-affected-'));
    try {
      const dir = path.join(root, 'repo');
      git(root, 'clone', '-q', repo.dir, dir);
      const loaded = repo.deployment.stacks[repo.deployment.stacks.length - 1];
      appendFileSync(path.join(dir, 'stacks', `${loaded}.yaml`), '# tuned\n');
      appendFileSync(path.join(dir, 'components/terraform/ecr/main.tf'), '# changed\n');
      const rds = readdirSync(path.join(dir, 'stacks/catalog/rds')).sort()[0];
      appendFileSync(path.join(dir, 'stacks/catalog/rds', rds), '# not loaded by the deployment\n');
      git(dir, 'commit', '-qam', 'change');

      const expected = repo.deployment.targets.length * repo.deployment.components.length;
      let found: number | undefined;
      const m = await ctx.measure('affected --base HEAD~1', {
        args: [CLI, '--chdir', dir, 'affected', '--base', 'HEAD~1', '--format', 'json'],
        check: (s) => {
          let out: { components?: { reasons: { file?: string }[] }[] };
          try {
            out = JSON.parse(s.stdout) as typeof out;
          } catch {
            return 'did not print JSON';
          }
          found = out.components?.length;
          if (found !== expected) return `named ${found} components, expected ${expected} (every component of every target)`;
          if (out.components?.some((c) => c.reasons.some((r) => r.file?.startsWith('stacks/catalog/rds/')))) return 'counted a stack file the deployment does not load';
          return undefined;
        },
      });
      if (!m.ok) return [{ figure: 'affected: wall time', value: 'FAILED', goal: '< 1000 ms', pass: false }];
      // Head not checked out: its files come from a temporary worktree (informational).
      git(dir, 'checkout', '-q', 'HEAD~1');
      const other = await ctx.measure('affected --head (not checked out)', { args: [CLI, '--chdir', dir, 'affected', '--base', 'HEAD', '--head', 'main', '--format', 'json'] });
      return [
        { figure: 'affected: components named', value: String(found), goal: `= ${expected}`, pass: found === expected },
        {
          figure: `affected (${repo.instances.toLocaleString('en-US')} instances): wall time`,
          value: `${fmtMs(m.wallMedianMs)} (best ${fmtMs(m.wallBestMs)})`,
          goal: '< 1000 ms (Atmos ~2 s)',
          pass: m.wallMedianMs < 1000,
        },
        { figure: 'affected, head from a temporary worktree', value: other.ok ? `${fmtMs(other.wallMedianMs)} (best ${fmtMs(other.wallBestMs)})` : 'FAILED', goal: 'info' },
      ];
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
