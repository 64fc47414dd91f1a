/**
 * What every refused attack of the paths, names and build-context suites must show: `validate`
 * and `run rollout` both exit 2 with a located error (file:line:col) and no stack trace, and
 * nothing was written (no .atmos/state, workspaces or images, no new refs, tags or notes, no
 * file in the work tree).
 */
import { existsSync, readFileSync, readdirSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli, git } from './fixture.js';

/** Every path below dir except .git and .atmos (links not followed). */
function workTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === '.git' || r === '.atmos') continue;
      out.push(r);
      if (lstatSync(path.join(d, n)).isDirectory()) walk(path.join(d, n), r);
    }
  };
  walk(dir, '');
  return out;
}

/** `file:line:col` (1-based) of `value` on the first line of a repository file that contains `line`. */
export function where(dir: string, file: string, line: string, value = line): string {
  const lines = readFileSync(path.join(dir, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(line));
  if (i < 0) throw new Error(`${line} not in ${file}`);
  return `${file}:${i + 1}:${lines[i].indexOf(value, lines[i].indexOf(line)) + 1}`;
}

/**
 * Run `validate <d>` and `run rollout <d> --target dev`: both exit 2 with `<at>: error: ` and a
 * message matching `what` on stderr, no stack trace, and nothing written.
 */
export function expectRefused(dir: string, deployment: string, at: string, what: RegExp): void {
  const refs = git(dir, 'for-each-ref');
  const tree = workTree(dir);
  for (const args of [
    ['validate', deployment],
    ['run', 'rollout', deployment, '--target', 'dev'],
  ]) {
    const r = cli(dir, args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
    expect(r.stderr).toContain(`${at}: error: `);
    expect(r.stderr).toMatch(what);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }
  expect(git(dir, 'for-each-ref')).toBe(refs);
  expect(workTree(dir)).toEqual(tree);
  for (const d of ['state', 'workspaces', 'images', 'runs']) expect(existsSync(path.join(dir, '.atmos', d)), `.atmos/${d}`).toBe(false);
}

/** The `step.finished` event of the first step whose id matches, from `--events ndjson` output. */
export function finishedStep(stdout: string, id: RegExp): { id: string; status: string; fingerprint: string } | undefined {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; id: string; status: string; fingerprint: string })
    .find((e) => e.type === 'step.finished' && id.test(e.id));
}
