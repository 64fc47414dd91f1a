/**
 * Recording a rollout in Git costs a constant number of git processes, whatever the number of
 * components (one history tag and one ref move each), and a ref moved by another process
 * while the rollout records still yields the ref-conflict warning, the other records landing.
 * git is counted by a wrapper script first on PATH that logs each invocation, then runs the
 * real git; the same wrapper plays the other process in the conflict test.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deploymentRef } from '../../src/tracking/records.js';
import { GIT_ENV, git, runCli } from '../helpers.js';
import { DEPLOYMENT, waveRepo } from '../reliability/fixture.js';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/** A repository of `n` independent components in Git, and a git wrapper logging to `log`. */
function setup(n: number) {
  const repo = waveRepo({ waves: 1, width: n, slow: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${String(i).padStart(2, '0')}`, '0'])) });
  const dir = repo.dir;
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, '.gitignore'), '.atmos/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'fleet');
  const bin = path.join(dir, '.atmos-test-bin');
  execFileSync('mkdir', ['-p', bin]);
  const log = path.join(bin, 'git.log');
  const marker = path.join(bin, 'move-once');
  // On the first `update-ref ... --stdin` after `marker` appears, another process moves $MOVE_REF.
  writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
if [ "$1" = update-ref ] && [ -e '${marker}' ]; then
  for a in "$@"; do
    if [ "$a" = --stdin ]; then rm -f '${marker}'; '${REAL_GIT}' update-ref "$MOVE_REF" "$MOVE_TO"; fi
  done
fi
exec '${REAL_GIT}' "$@"
`,
  );
  chmodSync(path.join(bin, 'git'), 0o755);
  const env = { ...GIT_ENV, PATH: `${bin}:${process.env.PATH}` };
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { dir, names: repo.names, env, log, marker, calls };
}

/** Processes that write tag objects or refs. */
const writes = (calls: string[]) => calls.filter((c) => /^(mktag|hash-object|update-ref|tag)\b/.test(c));

describe('recording a rollout', () => {
  it('20 components: every history tag and ref recorded by a bounded number of git processes', { timeout: 300_000 }, () => {
    const { dir, names, env, calls } = setup(20);
    const sha = git(dir, 'rev-parse', 'HEAD');
    const r = runCli(['--chdir', dir, 'rollout', DEPLOYMENT, '--target', 'dev', '--parallelism', '4'], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const c of names) expect(git(dir, 'rev-parse', deploymentRef(DEPLOYMENT, 'dev', c))).toBe(sha);
    const tags = git(dir, 'for-each-ref', '--format=%(refname)', `refs/tags/atmos/deployments/${DEPLOYMENT}/dev/`).split('\n');
    expect(tags).toHaveLength(20);
    const history = JSON.parse(runCli(['--chdir', dir, 'history', DEPLOYMENT, '--target', 'dev', '--format', 'json'], { env: GIT_ENV }).stdout) as Array<{ component: string; status: string }>;
    expect(history.map((h) => h.component).sort()).toEqual(names);
    expect(history.every((h) => h.status === 'success')).toBe(true);
    // The 20 records (a tag and a ref move each, formerly 3 processes each): one tag object
    // writer and one ref transaction. Besides them only the release's tag (mktag + update-ref)
    // and its SBOM note (update-ref + temp ref removal) write: a constant, not per component.
    const w = writes(calls());
    expect(w.filter((c) => c.startsWith('hash-object'))).toHaveLength(1);
    expect(w.filter((c) => c.startsWith('update-ref') && c.endsWith('--stdin'))).toHaveLength(1);
    expect(w.filter((c) => c.startsWith('mktag'))).toHaveLength(1);
    expect(w.length, w.join('\n')).toBeLessThanOrEqual(6);
    expect(calls().filter((c) => c.startsWith('var ')).length).toBeLessThanOrEqual(5);
  });

  it('a deployment ref moved by another process while recording: ref-conflict warning, the others recorded', { timeout: 300_000 }, () => {
    const { dir, names, env, marker } = setup(3);
    const sha = git(dir, 'rev-parse', 'HEAD');
    const other = git(dir, 'commit-tree', '-m', 'elsewhere', `${sha}^{tree}`);
    const moved = deploymentRef(DEPLOYMENT, 'dev', 'c01');
    writeFileSync(marker, '');
    const r = runCli(['--chdir', dir, 'rollout', DEPLOYMENT, '--target', 'dev'], { env: { ...env, MOVE_REF: moved, MOVE_TO: other } });
    expect(existsSync(marker)).toBe(false); // the other process did move the ref
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(`${moved} moved to ${other.slice(0, 12)} by another process during this rollout; left as is`);
    expect(git(dir, 'rev-parse', moved)).toBe(other);
    for (const c of names.filter((c) => c !== 'c01')) expect(git(dir, 'rev-parse', deploymentRef(DEPLOYMENT, 'dev', c))).toBe(sha);
    // Every component still has its history entry.
    const tags = git(dir, 'for-each-ref', '--format=%(refname)', `refs/tags/atmos/deployments/${DEPLOYMENT}/dev/`).split('\n');
    expect(tags).toHaveLength(3);
  });
});
