/**
 * Child process of the `scale` benchmark: loads every top-level stack of a repository
 * (Atmos `included_paths` minus `excluded_paths`) and prints one JSON line:
 * `{"stacks", "instances", "configMs", "loadMs", "maxRssKb"}`.
 *
 *   node dist/bench/full-load.js <repo>
 */
import { loadAtmosConfig } from '../src/config/atmos.js';

interface LoadAllStacksResult {
  stacks: { file: string; components: unknown }[];
  instances: number;
}
type LoadAllStacks = (
  opts: { repoRoot: string; stacksBasePath: string; listMergeStrategy: 'replace' | 'append' | 'merge'; included?: string[]; excluded?: string[] },
  files?: unknown,
) => LoadAllStacksResult | Promise<LoadAllStacksResult>;

function fail(message: string): never {
  process.stderr.write(`full-load: ${message}\n`);
  process.exit(1);
}

const repo = process.argv[2];
if (!repo) fail('usage: node dist/bench/full-load.js <repo>');

// Imported through a variable so that this file compiles before src/stacks/index.ts exists.
const stacksModule = '../src/stacks/index.js';
const mod = (await import(stacksModule).catch((e: unknown) => fail(`cannot import ${stacksModule}: ${String(e)}`))) as { loadAllStacks?: LoadAllStacks };
if (typeof mod.loadAllStacks !== 'function') fail(`${stacksModule} does not export loadAllStacks()`);

try {
  const t0 = performance.now();
  const cfg = loadAtmosConfig({ cwd: repo });
  const t1 = performance.now();
  const result = await mod.loadAllStacks({
    repoRoot: cfg.repoRoot,
    stacksBasePath: cfg.stacksBasePath,
    listMergeStrategy: cfg.listMergeStrategy,
    included: cfg.stacksIncluded,
    excluded: cfg.stacksExcluded,
  });
  const t2 = performance.now();
  process.stdout.write(
    `${JSON.stringify({
      stacks: result.stacks.length,
      instances: result.instances,
      configMs: +(t1 - t0).toFixed(2),
      loadMs: +(t2 - t1).toFixed(2),
      maxRssKb: process.resourceUsage().maxRSS,
    })}\n`,
  );
} catch (e) {
  const diags = (e as { diagnostics?: unknown }).diagnostics;
  fail(diags ? JSON.stringify(diags, null, 2) : e instanceof Error ? (e.stack ?? e.message) : String(e));
}
