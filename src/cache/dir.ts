/**
 * The cache directory (`deployments.cache_dir`, default `.atmos`) ignores itself in Git: when
 * atmos-pipe creates it, it writes `.gitignore` containing `*` (as pytest and ruff do with
 * their caches), so `git add -A` never stages state, logs or the secret key.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createExclusive } from './cas.js';

const ensured = new Set<string>();

/** Create the cache directory (if needed) with its `.gitignore`; returns the directory. */
export function ensureCacheDir(cacheDir: string): string {
  const dir = path.resolve(cacheDir);
  if (ensured.has(dir)) return dir;
  mkdirSync(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!existsSync(ignore)) createExclusive(ignore, '# Created by atmos-pipe: the cache never enters Git.\n*\n');
  ensured.add(dir);
  return dir;
}
