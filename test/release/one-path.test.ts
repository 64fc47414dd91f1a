/**
 * `approve`, `release` and `rollout` make a release of the working tree's commit the same
 * way (vendor → record → SBOM → create → attach): the same commit gives the same release id
 * and the same record whichever command made it first.
 */
import { cpSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';
import { bareRepo, tempDir } from '../vendoring/fixture.js';

const ENV = { GIT_AUTHOR_NAME: 'D', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'D', GIT_COMMITTER_EMAIL: 'd@example.com', ATMOS_PIPE_USER: 'd' };

function deployment(url: string): string {
  return [
    'deployment:',
    '  name: net',
    '  vendor:',
    '    components:',
    '      - component: vpc',
    `        source: git::${url}//modules/vpc?ref=v1.1.0`,
    '  components:',
    '    terraform:',
    '      network:',
    '        metadata: { component: vpc }',
    '        vars: { cidr: 10.0.0.0/16 }',
    '  targets:',
    '    dev: {}',
    '',
  ].join('\n');
}

interface Made {
  id: string;
  record: { git_sha: string; images: unknown; vendored: Record<string, string>; sboms: Record<string, string>; tools: unknown };
  sbomNote: string;
}

describe('one way to make a release', () => {
  it('approve, release and rollout of the same commit make the same release', () => {
    const { url } = bareRepo();
    const origin = makeRepo({ 'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n', 'deployments/net.yaml': deployment(url) });
    const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: { ...process.env, ...ENV }, encoding: 'utf8' }).trim();
    git(origin, 'init', '-q', '-b', 'main');
    git(origin, 'add', '-A');
    git(origin, 'commit', '-qm', 'net');
    // Three copies of one commit, nothing pulled or recorded yet: each command makes the release itself.
    const copy = (name: string) => {
      const dir = path.join(tempDir(), name);
      cpSync(origin, dir, { recursive: true });
      return dir;
    };
    const made = (dir: string, id: string): Made => {
      const file = path.join(dir, 'releases', 'net', 'dev', `release-${id}.yaml`);
      const releases = JSON.parse(runCli(['--chdir', dir, 'releases', 'net', '--format', 'json'], { env: ENV }).stdout) as Array<Made['record'] & { id: string }>;
      expect(releases.map((r) => r.id)).toEqual([id]);
      expect(readFileSync(file, 'utf8')).toContain(`git_sha: ${releases[0].git_sha}`);
      const sbomNote = git(dir, 'notes', '--ref', 'refs/notes/atmos/net/sbom', 'show', releases[0].git_sha);
      const { git_sha, images, vendored, sboms, tools } = releases[0];
      return { id, record: { git_sha, images, vendored, sboms, tools }, sbomNote };
    };

    const a = copy('approve');
    const approved = runCli(['--chdir', a, 'approve', 'net', '--target', 'dev', '--approver', 'alice', '--format', 'json'], { env: ENV });
    expect(approved.code, approved.stderr).toBe(0);
    const byApprove = made(a, JSON.parse(approved.stdout).release);

    const r = copy('release');
    const released = runCli(['--chdir', r, 'release', 'net', '--target', 'dev', '--format', 'json'], { env: ENV });
    expect(released.code, released.stderr).toBe(0);
    const byRelease = made(r, JSON.parse(released.stdout).id);

    const o = copy('rollout');
    const rolled = runCli(['--chdir', o, 'rollout', 'net', '--target', 'dev'], { env: ENV });
    expect(rolled.code, rolled.stderr).toBe(0);
    const id = /release (r-[0-9a-f]{12}) created/.exec(rolled.stdout + rolled.stderr)?.[1];
    expect(id, rolled.stdout + rolled.stderr).toBeDefined();
    const byRollout = made(o, id!);

    expect(byApprove.record.vendored.vpc).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(byApprove.record.sboms.deployment).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(byRelease).toEqual(byApprove);
    expect(byRollout).toEqual(byApprove);
  });
});
