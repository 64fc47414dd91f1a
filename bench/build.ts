/**
 * The `build` group: the bundled example's Node service built by the real CLI.
 *
 * - cold build (install → build in the sandbox → OCI image), once;
 * - rebuild of the unchanged component (every step a cache hit, the image reused from the
 *   store): whole process, goal < 300 ms;
 * - the same commit built in a clone in another directory: the digests must be identical
 *   (bit-for-bit reproducible images).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchGroup, Figure, Sample } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const PROJECT_ROOT = path.resolve(BENCH_DIR, '..', '..');
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.mjs');
const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const GIT_ENV = { GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

const digestOf = (s: { stdout: string }): string | undefined => /nixpack\/api\s+\S+@(sha256:[0-9a-f]{64})/.exec(s.stdout)?.[1];

export const buildGroup: BenchGroup = {
  name: 'build',
  description: 'the example service: cold build, unchanged rebuild (< 300 ms), same digest from two directories',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-build-'));
    try {
      const a = path.join(root, 'one', 'payment-service');
      const b = path.join(root, 'two', 'elsewhere');
      cpSync(path.join(PROJECT_ROOT, 'examples/payment-service'), a, { recursive: true, filter: (s) => !/[/\\](\.atmos|node_modules|dist|releases)([/\\]|$)/.test(path.relative(PROJECT_ROOT, s)) });
      git(a, 'init', '-q', '-b', 'main');
      git(a, 'add', '-A');
      git(a, 'commit', '-qm', 'bench');
      git(root, 'clone', '-q', a, b);
      const args = (dir: string) => [CLI, '--chdir', dir, 'build', 'payment-service', '--skip-push'];
      const env = { CI: '1' };

      const t0 = process.hrtime.bigint();
      const cold = spawnSync(process.execPath, args(a), { encoding: 'utf8', env: { ...process.env, ...env } });
      const coldMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (cold.status !== 0) throw new Error(`cold build failed:\n${cold.stderr}`);
      const digestA = digestOf(cold);

      const check = (s: Sample) => {
        if (digestOf(s) !== digestA) return `printed another digest: ${digestOf(s)}`;
        return /0 done, 2 cached/.test(s.stderr) ? undefined : 'not every step was a cache hit';
      };
      const warm = await ctx.measure('build payment-service (unchanged)', { args: args(a), env, check });

      const other = spawnSync(process.execPath, args(b), { encoding: 'utf8', env: { ...process.env, ...env } });
      if (other.status !== 0) throw new Error(`build in the clone failed:\n${other.stderr}`);
      const digestB = digestOf(other);
      return [
        { figure: 'cold build of nixpack/api (npm ci, npm run build, image): wall time', value: fmtMs(coldMs), goal: 'info' },
        { figure: 'rebuild of the unchanged component: wall time', value: `${fmtMs(warm.wallMedianMs)} (best ${fmtMs(warm.wallBestMs)})`, goal: '< 300 ms', pass: warm.wallMedianMs < 300 },
        { figure: `digest built in ${path.relative(root, a)}`, value: digestA ?? '(none)', goal: 'info' },
        { figure: `digest built in ${path.relative(root, b)} (a clone)`, value: digestB ?? '(none)', goal: 'info' },
        { figure: 'the two digests are identical', value: digestA !== undefined && digestA === digestB ? 'yes' : 'no', goal: 'yes', pass: digestA !== undefined && digestA === digestB },
      ];
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
