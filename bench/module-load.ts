/**
 * Child process of the `modules` benchmark: loads a repository's modules with the loader the
 * CLI uses (src/extensions) and prints one JSON line `{"loadMs", "cpuMs", "modules"}`. `cold` first
 * removes the cache of transformed modules, so the TypeScript is transformed again (and the
 * transformer loaded); `warm` finds it cached by content.
 *
 *   node --expose-gc dist/bench/module-load.js <repo> cold|warm
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { builtinModules } from '../modules/index.js';
import { pipelines } from '../pipelines/index.js';
import { loadExtensions } from '../src/extensions/index.js';
import { openRepository } from '../src/repository.js';

const [dir, mode] = process.argv.slice(2);
if (!dir || (mode !== 'cold' && mode !== 'warm')) {
  process.stderr.write('usage: node dist/bench/module-load.js <repo> cold|warm\n');
  process.exit(2);
}
const repo = openRepository({ cwd: dir });
if (mode === 'cold') rmSync(path.join(repo.config.cacheDir, 'cache', 'modules'), { recursive: true, force: true });
// Timed: what a command adds when the repository has a module. As in the CLI, its own code and
// the built-in modules and pipelines (and so zod) are loaded already.
// The garbage the start-up left is collected first (run with --expose-gc): a major collection it
// is owed would otherwise land in the timed window, by chance, and be counted as module loading.
(globalThis as { gc?: () => void }).gc?.();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const ext = await loadExtensions(repo, { modules: builtinModules, pipelines });
const cpu = process.cpuUsage(cpu0);
const loadMs = performance.now() - t0;
// CPU time beside wall time: on a machine shared with other work, wall time includes waiting for a core.
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(`${JSON.stringify({ loadMs: +loadMs.toFixed(2), cpuMs: +cpuMs.toFixed(2), modules: [...ext.modules.keys()] })}\n`);
