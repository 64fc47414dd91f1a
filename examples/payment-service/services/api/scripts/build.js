// Build: copy src/ to dist/ after checking every module parses. Deterministic
// (no timestamps), so the same source always yields the same image layer.
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

for (const file of readdirSync(src).sort()) {
  if (!file.endsWith('.js')) continue;
  const check = spawnSync(process.execPath, ['--check', path.join(src, file)], { stdio: 'inherit' });
  if (check.status !== 0) process.exit(check.status ?? 1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(src, dist, { recursive: true });
console.log(`built ${readdirSync(dist).length} files into dist/`);
