/**
 * Shared helpers of the security suite (issue 10): a fresh Git copy of the bundled example,
 * the real CLI as a separate process, and a scanner that proves a secret value is nowhere it
 * must not be (files under `.atmos/`, every Git object, stdout/stderr, NDJSON events), in
 * plain, base64 and URL-encoded form.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CLI, exampleGitRepo, GIT_ENV, git, type CliResult } from '../helpers.js';

export { exampleGitRepo, git, GIT_ENV, CLI };

/** The bundled example as a fresh Git repository (one commit); `edit` may change files first. */
export function freshExample(edit?: (dir: string) => void): string {
  return exampleGitRepo('atmos-pipe-sec-', edit);
}

/** Commit everything in the repository (after an edit made for an attack). */
export function commitAll(dir: string, message = 'change'): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', message, '--allow-empty');
}

/** Run the built CLI as a real process with a fixed Git identity. */
export function cli(dir: string, args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env },
    ...(input !== undefined ? { input } : {}),
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The forms in which a secret could leak: as is, base64 (standard and URL-safe), URL-encoded, hex. */
export function secretForms(secret: string): string[] {
  const b = Buffer.from(secret, 'utf8');
  const forms = new Set([secret, b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), encodeURIComponent(secret), b.toString('hex')]);
  return [...forms].filter((f) => f.length >= 6);
}

/** Every regular file below dir (no links followed), with gzip members also read decompressed. */
function* filesBelow(dir: string): Generator<[string, Buffer]> {
  if (!existsSync(dir)) return;
  const walk = function* (d: string): Generator<[string, Buffer]> {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) yield* walk(p);
      else if (st.isFile()) {
        const buf = readFileSync(p);
        yield [p, buf];
        if (buf[0] === 0x1f && buf[1] === 0x8b) {
          try {
            yield [`${p} (gunzipped)`, gunzipSync(buf)];
          } catch {
            // not gzip after all
          }
        }
      }
    }
  };
  yield* walk(dir);
}

/**
 * Where a secret was found: paths of files under `<repo>/.atmos` (and any extra dirs), Git
 * objects of the repository (every object, loose or packed, decompressed), and the named texts
 * (stdout, stderr, events). An empty list means the secret leaked nowhere.
 */
export function findSecret(repo: string, secret: string, texts: Record<string, string> = {}, extraDirs: string[] = []): string[] {
  const forms = secretForms(secret);
  const hits: string[] = [];
  const check = (where: string, data: Buffer | string) => {
    const s = typeof data === 'string' ? data : data.toString('latin1');
    for (const f of forms) if (s.includes(f)) hits.push(`${where}: ${f === secret ? 'plain' : 'encoded'} form`);
  };
  for (const d of [path.join(repo, '.atmos'), ...extraDirs]) for (const [p, buf] of filesBelow(d)) check(path.relative(repo, p), buf);
  if (existsSync(path.join(repo, '.git'))) {
    const r = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch', '--unordered'], { cwd: repo, maxBuffer: 1024 * 1024 * 1024 });
    check('git objects', r.stdout);
  }
  for (const [name, text] of Object.entries(texts)) check(name, text);
  return hits;
}
