/**
 * The `modules` group: loading a repository's own TypeScript module (SPEC 8) without a build
 * step, measured in-process with the CLI's loader (bench/module-load.ts):
 *
 * - cold (the transformer loaded, the files transformed and written to the cache, imported):
 *   goal < 150 ms;
 * - warm (the files read and hashed, the cached JavaScript imported): goal < 15 ms;
 * - for information, the whole `atmos-pipe modules` process on the warm cache;
 * - the bundled example's `payment-webhooks` (a Terraform component with an `after_apply` hook
 *   of the repository's smoke-test module), copied into a temp Git repository and rolled out
 *   once: its no-op re-run must start no tool process at all (goal = 0), counted with the
 *   rollout group's wrappers on PATH (every sandbox, every terraform outside one): the hook's
 *   step is cached by content like every other step.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../src/engine/local.js';
import { gitCommit, parseEvents, writeWrappers } from './rollout.js';
import type { BenchContext, BenchGroup, Figure, Measurement, Sample } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLI = path.resolve(BENCH_DIR, '..', 'cli.mjs');
const MODULE_LOAD = path.join(BENCH_DIR, 'module-load.js');
const EXAMPLE = path.resolve(BENCH_DIR, '..', '..', 'examples', 'payment-service');
const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

const FILES: Record<string, string> = {
  'atmos.yaml': 'deployments:\n  base_path: deployments\n',
  'modules/smoke-test/index.ts': `import { defineModule, type Step } from 'atmos-pipe/module';
import { z } from 'zod';
import { command } from './command.js';

export default defineModule({
  name: 'smoke-test',
  description: 'Checks that a component answers',
  inputs: z.object({ url: z.string().describe('what to fetch'), attempts: z.number().int().default(3) }),
  steps: (ctx): Step[] => [
    {
      id: ctx.stepId('check'),
      module: 'smoke-test',
      component: ctx.component.address,
      image: 'alpine',
      argv: command(ctx.inputs.url, ctx.inputs.attempts),
      env: {},
      secrets: [],
      inputs: {},
      outputs: {},
      needs: [],
      network: true,
      cache: 'never',
    },
  ],
});
`,
  'modules/smoke-test/command.ts': `export function command(url: string, attempts: number): string[] {
  return ['/bin/sh', '-c', \`for i in $(seq \${attempts}); do wget -q -O- "\${url}" && exit 0; sleep 1; done; exit 1\`];
}
`,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The in-process load times (wall and CPU) a child printed; the first run warms the file cache and is left out. */
async function inProcess(ctx: BenchContext, dir: string, mode: 'cold' | 'warm'): Promise<{ m: Measurement; wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const m = await ctx.measure(`load one TypeScript module (${mode})`, {
    args: ['--expose-gc', MODULE_LOAD, dir, mode],
    check: (s: Sample) => {
      const out = JSON.parse(s.stdout.trim().split('\n').pop() ?? '{}') as { loadMs?: number; cpuMs?: number; modules?: string[] };
      if (typeof out.loadMs !== 'number' || typeof out.cpuMs !== 'number' || !out.modules?.includes('smoke-test')) return 'did not load smoke-test';
      wall.push(out.loadMs);
      cpu.push(out.cpuMs);
      return undefined;
    },
  });
  return { m, wall: wall.slice(1), cpu: cpu.slice(1) };
}

/** The hook's step in the example's events: `…:after_apply.1.smoke-test`. */
const HOOK_STEP = /:after_apply\.\d+\.smoke-test$/;

/** The example's no-op rollout with its smoke-test hook: tool processes started (see the file's comment). */
async function exampleNoop(ctx: BenchContext): Promise<Figure> {
  const figure = 'no-op re-run of the example rollout with hooks (payment-webhooks): tool processes';
  const realTerraform = which('terraform');
  if (!realTerraform) return { figure, value: 'FAILED (terraform is not on PATH)', goal: '= 0', pass: false };
  const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-example-'));
  try {
    return await exampleNoopIn(ctx, root, realTerraform, figure);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function exampleNoopIn(ctx: BenchContext, root: string, realTerraform: string, figure: string): Promise<Figure> {
  const dir = path.join(root, 'payment-service');
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/[/\\](\.atmos|releases|node_modules|dist)([/\\]|$)/.test(path.relative(EXAMPLE, src)) });
  gitCommit(dir);
  const wrappers = writeWrappers(root, realTerraform);
  const env = { PATH: `${wrappers.binDir}${path.delimiter}${process.env.PATH ?? ''}`, ATMOS_PIPE_USER: 'bench@example.invalid' };
  const args = [CLI, '--chdir', dir, 'rollout', 'payment-webhooks', '--target', 'dev', '--engine', 'local', '--events', 'ndjson'];
  const first = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  const firstHook = [...parseEvents(first.stdout).finished].find(([id]) => HOOK_STEP.test(id))?.[1].status;
  if (first.status !== 0 || firstHook !== 'done') {
    ctx.note(`modules: the example's first rollout exited ${first.status} (smoke-test hook ${firstHook ?? 'absent'}): ${first.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return { figure, value: 'FAILED', goal: '= 0', pass: false };
  }
  const before = wrappers.calls().length;
  const m = await ctx.measure('rollout no-op, example with hooks', {
    args,
    env,
    check: (s: Sample) => {
      const ev = parseEvents(s.stdout);
      if (ev.status !== 'success') return `run.finished status ${ev.status ?? '(none)'}`;
      if (ev.started.size) return `${ev.started.size} steps started`;
      return [...ev.finished].some(([id, f]) => HOOK_STEP.test(id) && f.status === 'cached') ? undefined : 'the smoke-test hook was not a cache hit';
    },
  });
  const processes = wrappers.calls().length - before;
  const runs = m.samples.length + (m.ok ? 1 : 0); // + the warm-up
  return { figure: `${figure} (${runs} runs)`, value: m.ok ? String(processes) : 'FAILED', goal: '= 0', pass: m.ok && processes === 0 };
}

export const modulesGroup: BenchGroup = {
  name: 'modules',
  description: "a repository's TypeScript module loaded without a build: cold (< 150 ms), warm (< 15 ms); the example's no-op rollout with hooks starts no tool process",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-modules-'));
    try {
      for (const [rel, text] of Object.entries(FILES)) {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), text);
      }
      const figures: Figure[] = [];
      for (const [mode, goal, limit] of [
        ['cold', '< 150 ms', 150],
        ['warm', '< 15 ms', 15],
      ] as const) {
        const { m, wall, cpu } = await inProcess(ctx, dir, mode);
        const figure = `load one TypeScript module, ${mode} (in-process)`;
        if (!m.ok || wall.length === 0) {
          figures.push({ figure, value: 'FAILED', goal, pass: false });
          continue;
        }
        figures.push({ figure, value: fmtMs(median(wall)), goal, pass: median(wall) < limit }, { figure: '  CPU time of that load', value: fmtMs(median(cpu)), goal: 'info' });
      }
      const whole = await ctx.measure('atmos-pipe modules (warm)', { args: [CLI, '--chdir', dir, 'modules'], check: (s) => (s.stdout.includes('smoke-test') ? undefined : 'did not list smoke-test') });
      figures.push({
        figure: '`atmos-pipe modules`, warm: wall time',
        value: whole.ok ? `${fmtMs(whole.wallMedianMs)} (best ${fmtMs(whole.wallBestMs)})` : 'FAILED',
        goal: 'info',
        ...(whole.ok ? {} : { pass: false }),
      });
      figures.push(await exampleNoop(ctx));
      return figures;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
