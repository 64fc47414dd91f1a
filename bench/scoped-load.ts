/**
 * Child process of the `scale` benchmark: the in-process work of a scoped `describe`
 * (open the repository, load and validate the deployment, load only its stacks, resolve
 * one target) — the counterpart of full-load.ts's in-process loadAllStacks figure.
 * Prints `{"components", "loadMs"}`.
 *
 *   node dist/bench/scoped-load.js <repo> <deployment> <target>
 */
import { describe, loadDeployment, openRepository, resolve } from '../src/index.js';

const [repoDir, name, target] = process.argv.slice(2);
if (!repoDir || !name || !target) {
  process.stderr.write('usage: node dist/bench/scoped-load.js <repo> <deployment> <target>\n');
  process.exit(2);
}
const t0 = performance.now();
const repo = openRepository({ cwd: repoDir });
const dep = loadDeployment(repo, name);
const resolved = await resolve(repo, dep, target);
const d = describe(resolved);
const loadMs = performance.now() - t0;
process.stdout.write(`${JSON.stringify({ components: d.components.length, loadMs: +loadMs.toFixed(2) })}\n`);
