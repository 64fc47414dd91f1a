/**
 * Issue 11, item 2: dirty trees are refused or recorded as dirty. Through the real CLI, real
 * terraform and real Git on the bundled example's platform-network deployment (inputs: its
 * deployment file, six stack files, components/terraform/network, atmos.yaml).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, exampleGitRepo, git } from '../security/fixture.js';

const D = 'platform-network';
const DEV_STACK = 'stacks/orgs/acme/dev.yaml';

const trackingRefs = (dir: string) => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/atmos', 'refs/tags', 'refs/notes');
/** The release a rollout reports in its result (stdout). */
const releaseOf = (stdout: string) => /release (r-[0-9a-f]{12}) \((?:created|existing)\)/.exec(stdout)?.[1];
const tagMessage = (dir: string, tag: string) => git(dir, 'for-each-ref', '--format=%(contents)', `refs/tags/${tag}`);

/** Changes the VPC CIDR of dev in its stack file (an input of the deployment), without committing. */
function editDevStack(dir: string): void {
  const f = path.join(dir, DEV_STACK);
  writeFileSync(f, readFileSync(f, 'utf8').replace('cidr_block: 10.10.0.0/16', 'cidr_block: 10.20.0.0/16'));
}

/** `<file>:<line>:7` of staging's `promotion:` key. */
function stagingRule(dir: string): string {
  const lines = readFileSync(path.join(dir, 'deployments', `${D}.yaml`), 'utf8').split('\n');
  const staging = lines.indexOf('    staging:');
  const at = lines.findIndex((l, i) => i > staging && l.trim() === 'promotion:');
  return `deployments/${D}.yaml:${at + 1}:7`;
}

const vpcState = (dir: string, target: string) => readFileSync(path.join(dir, '.atmos/state', D, target, 'vpc.tfstate'), 'utf8');

describe('a rollout of modified inputs', () => {
  it('is refused with exit 3, listing modified (staged or not) and untracked input files; plan and --dry-run only say so', { timeout: 120_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-dirty-');
    editDevStack(dir);
    const r = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`rollout of ${D}/dev refused: 1 input file(s) differ from commit ${git(dir, 'rev-parse', 'HEAD').slice(0, 12)}`);
    expect(r.stderr).toContain(` M ${DEV_STACK}`);
    expect(r.stderr).toMatch(/hint: commit them .* or record this release as dirty with --allow-dirty/);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    // Staged counts too, and so does an untracked file inside a module directory.
    git(dir, 'add', DEV_STACK);
    writeFileSync(path.join(dir, 'components/terraform/network/extra.tf'), 'locals { extra = 1 }\n');
    const staged = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(staged.code, staged.stderr).toBe(3);
    expect(staged.stderr).toContain(`M  ${DEV_STACK}`);
    expect(staged.stderr).toContain('?? components/terraform/network/extra.tf');
    // The release command likewise.
    const rel = cli(dir, ['release', D, '--target', 'dev']);
    expect(rel.code, rel.stderr).toBe(3);
    expect(rel.stderr).toContain(`release of ${D}/dev refused: 2 input file(s)`);
    // Nothing was recorded or applied.
    expect(trackingRefs(dir)).toBe('');
    expect(existsSync(path.join(dir, 'releases'))).toBe(false);
    expect(existsSync(path.join(dir, '.atmos/state'))).toBe(false);

    // plan and --dry-run do not refuse, but say that the tree is dirty.
    for (const args of [
      ['plan', D, '--target', 'dev'],
      ['rollout', D, '--target', 'dev', '--dry-run'],
    ]) {
      const p = cli(dir, args);
      expect(p.code, `${args.join(' ')}: ${p.stderr}`).toBe(0);
      expect(p.stderr).toContain(`warning: the working tree is dirty: 2 input file(s) of ${D}/dev differ from commit`);
      expect(p.stderr).toContain(`M  ${DEV_STACK}`);
    }
    expect(trackingRefs(dir)).toBe('');
  });

  it('--allow-dirty records a dirty release with the digest of the changes and its own id; it is never promoted', { timeout: 180_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-dirty-');
    const sha = git(dir, 'rev-parse', 'HEAD');
    editDevStack(dir);
    const dirty = cli(dir, ['rollout', D, '--target', 'dev', '--allow-dirty']);
    expect(dirty.code, dirty.stderr).toBe(0);
    expect(dirty.stderr).toContain('recorded as a dirty release (--allow-dirty)');
    const dirtyId = releaseOf(dirty.stdout)!;
    expect(dirtyId).toBeDefined();
    expect(vpcState(dir, 'dev')).toContain('10.20.0.0/16'); // what ran is the working tree

    // The release record: tag message and exported file.
    const record = tagMessage(dir, `atmos/releases/${D}/${dirtyId}`);
    expect(record).toContain(`git_sha: ${sha}`);
    expect(record).toContain('dirty: true');
    const digest = /dirty_digest: (sha256:[0-9a-f]{64})/.exec(record)?.[1];
    expect(digest).toBeDefined();
    expect(record).toContain(`dirty_files:\n  - ${DEV_STACK}`);
    expect(readFileSync(path.join(dir, 'releases', D, 'dev', `release-${dirtyId}.yaml`), 'utf8')).toContain(`dirty_digest: ${digest}`);
    // The history records.
    const hist = cli(dir, ['history', D, '--target', 'dev', '--format', 'json']);
    const entries = JSON.parse(hist.stdout) as Array<{ release: string; dirty?: boolean; dirty_digest?: string }>;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ release: dirtyId, dirty: true, dirty_digest: digest });
    expect(cli(dir, ['history', D, '--target', 'dev']).stdout).toMatch(new RegExp(`${dirtyId} .*dirty release`));
    expect(cli(dir, ['releases', D]).stdout).toMatch(new RegExp(`${dirtyId}\\s+dev\\s+${sha.slice(0, 12)} \\(dirty\\)`));

    // promotion-status does not offer it: the next command is to roll dev out again (after committing).
    const ps = JSON.parse(cli(dir, ['promotion-status', D, '--format', 'json']).stdout) as {
      edges: Array<{ from: string; to: string; state: string; next_command: string; source: { dirty?: boolean } }>;
    };
    expect(ps.edges.find((e) => e.from === 'dev' && e.to === 'staging')).toMatchObject({
      state: 'dirty-source',
      next_command: `atmos-pipe rollout ${D} --target dev`,
      source: { release: dirtyId, dirty: true },
    });

    // Never a promotion source: exit 3 at staging's promotion rule, saying how to fix it.
    const before = trackingRefs(dir);
    const promote = cli(dir, ['rollout', D, '--target', 'staging', '--promote-from', 'dev']);
    expect(promote.code, promote.stderr).toBe(3);
    expect(promote.stderr).toContain(`${stagingRule(dir)}: error: dev runs release ${dirtyId}, which is dirty`);
    expect(promote.stderr).toContain('a dirty release is never a promotion source');
    expect(promote.stderr).toContain(`fix: commit the changes, roll out dev again from the commit (atmos-pipe rollout ${D} --target dev)`);
    expect(promote.stderr).not.toMatch(/\n\s+at /);
    const byId = cli(dir, ['rollout', D, '--target', 'staging', '--release', dirtyId]);
    expect(byId.code, byId.stderr).toBe(3);
    expect(byId.stderr).toContain(`${stagingRule(dir)}: error: dev runs release ${dirtyId}, which is dirty`);
    expect(trackingRefs(dir)).toBe(before);
    expect(existsSync(path.join(dir, '.atmos/state', D, 'staging'))).toBe(false);

    // The way out: commit, roll out dev again (a clean release, another id), then promote.
    git(dir, 'commit', '-qam', 'dev: wider VPC');
    const clean = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanId = releaseOf(clean.stdout)!;
    expect(cleanId).not.toBe(dirtyId);
    expect(tagMessage(dir, `atmos/releases/${D}/${cleanId}`)).not.toContain('dirty');
    // Nor is it rolled out again (its files are in no commit): no rollback to it.
    const back = cli(dir, ['rollout', D, '--target', 'dev', '--release', dirtyId]);
    expect(back.code, back.stderr).toBe(3);
    expect(back.stderr).toContain(`release ${dirtyId}, which is dirty`);
    const ok = cli(dir, ['rollout', D, '--target', 'staging', '--promote-from', 'dev']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(releaseOf(ok.stdout)).toBe(cleanId);
  });

  it('a dirty release of the same commit never takes the clean release id', { timeout: 120_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-dirty-');
    const clean = cli(dir, ['release', D, '--target', 'dev', '--format', 'json']);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanRel = JSON.parse(clean.stdout) as { id: string; record: { dirty?: boolean } };
    expect(cleanRel.record.dirty).toBeUndefined();
    editDevStack(dir);
    const dirty = cli(dir, ['release', D, '--target', 'dev', '--allow-dirty', '--format', 'json']);
    expect(dirty.code, dirty.stderr).toBe(0);
    const dirtyRel = JSON.parse(dirty.stdout) as { id: string; created: boolean; record: { git_sha: string; dirty?: boolean; dirty_digest?: string } };
    expect(dirtyRel.created).toBe(true);
    expect(dirtyRel.id).not.toBe(cleanRel.id);
    expect(dirtyRel.record).toMatchObject({ git_sha: git(dir, 'rev-parse', 'HEAD'), dirty: true });
    expect(dirtyRel.record.dirty_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Another change is another content, hence another release.
    const f = path.join(dir, DEV_STACK);
    writeFileSync(f, readFileSync(f, 'utf8').replace('10.20.0.0/16', '10.30.0.0/16'));
    const other = JSON.parse(cli(dir, ['release', D, '--target', 'dev', '--allow-dirty', '--format', 'json']).stdout) as { id: string; record: { dirty_digest: string } };
    expect(other.id).not.toBe(dirtyRel.id);
    expect(other.record.dirty_digest).not.toBe(dirtyRel.record.dirty_digest);
  });

  it("changes outside the deployment's inputs do not make it dirty", { timeout: 120_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-dirty-');
    writeFileSync(path.join(dir, 'notes.txt'), 'untracked, at the root\n');
    writeFileSync(path.join(dir, 'stacks/orgs/acme/unrelated.yaml'), 'vars: { stage: other }\n'); // a stack file it does not load
    const ecr = path.join(dir, 'components/terraform/ecr/main.tf'); // another deployment's module
    writeFileSync(ecr, `${readFileSync(ecr, 'utf8')}\n# changed\n`);
    writeFileSync(path.join(dir, 'README.md'), 'changed\n');
    expect(git(dir, 'status', '--porcelain')).not.toBe('');
    const r = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('dirty');
    const id = releaseOf(r.stdout)!;
    expect(tagMessage(dir, `atmos/releases/${D}/${id}`)).not.toContain('dirty');
  });
});
