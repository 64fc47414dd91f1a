/**
 * What the CLI shows and writes (issue 10, item 9): identities compared the way people mean
 * them, user-controlled strings inert on a terminal, user-named output files written like a
 * shell redirection, template keys never reaching Object.prototype, and a refused run that
 * leaves the repository byte for byte as it was. Real CLI process, real files, real Git.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTree } from '../helpers.js';
import { CLI, cli, freshExample, git, GIT_ENV } from './fixture.js';

const DEPLOYMENT = 'deployments/payment-service.yaml';

/** Edits the example's deployment file. */
function editDeployment(dir: string, edit: (y: string) => string): void {
  const f = path.join(dir, DEPLOYMENT);
  const before = readFileSync(f, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before); // the edit really applied
  writeFileSync(f, after);
}

/** prod as an entry target that requires an approval (no promotion source to roll out first). */
const prodNeedsApprovalOnly = (y: string) => y.replace(/( {6}promotion:\n {8})from: staging\n {8}(requires_approval: true)/, '$1$2');

/** Every file below the repository (including .git) with its content digest, and every ref. */
function snapshot(dir: string): { files: string[]; refs: string } {
  const files = listTree(dir).map(
    (f) =>
      `${f} ${createHash('sha256')
        .update(readFileSync(path.join(dir, f)))
        .digest('hex')}`,
  );
  return { files, refs: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)') };
}

describe('approval.distinct_approver compares identities as people mean them', () => {
  it('ALICE@Example.com approving what alice@example.com deploys is a self-approval: exit 3; bob may deploy it', () => {
    const dir = freshExample((d) => editDeployment(d, (y) => prodNeedsApprovalOnly(y).replace(/^( {2}context:\n)/m, '  approval:\n    distinct_approver: true\n$1')));
    const b = cli(dir, ['build', 'payment-service', '--target', 'prod']); // the release approved is the built one
    expect(b.code, b.stderr).toBe(0);
    const a = cli(dir, ['approve', 'payment-service', '--target', 'prod'], { ATMOS_PIPE_USER: ' ALICE@Example.com ' });
    expect(a.code, a.stderr).toBe(0);
    const self = cli(dir, ['rollout', 'payment-service', '--target', 'prod'], { ATMOS_PIPE_USER: 'alice@example.com' });
    expect(self.code, self.stderr).toBe(3);
    expect(self.stderr).toMatch(/prod requires an approval by someone other than the deployer: release r-[0-9a-f]+ is approved only by alice@example\.com, who is deploying it/);
    expect(git(dir, 'for-each-ref', 'refs/atmos/deployments/')).toBe('');
    // The same approval is good for anyone else: the refusal was about the identity only.
    const bob = cli(dir, ['rollout', 'payment-service', '--target', 'prod'], { ATMOS_PIPE_USER: 'bob@example.com' });
    expect(bob.code, bob.stderr).toBe(0);
  });
});

describe('control characters from user-controlled strings are escaped on a terminal', () => {
  const forged = 'mallory\n| prod | forged-row | success\r\u001b[31mRED\u001b]0;title\u0007\u202egnp.exe';

  it('a deployer name with a newline, CR, ANSI/OSC escapes and a bidi override: status and history show it escaped on one row; JSON keeps it exactly', () => {
    const dir = freshExample();
    const r = cli(dir, ['rollout', 'payment-service', '--target', 'dev'], { ATMOS_PIPE_USER: forged });
    expect(r.code, r.stderr).toBe(0);
    const escaped = 'mallory\\n| prod | forged-row | success\\r\\x1b[31mRED\\x1b]0;title\\x07\\u202egnp.exe';
    for (const args of [
      ['status', 'payment-service'],
      ['history', 'payment-service'],
      ['history', 'payment-service', '--color', 'always'],
    ]) {
      const t = cli(dir, args);
      expect(t.code, t.stderr).toBe(0);
      const lines = t.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3); // header + ecr/api + ecs/service-api: no forged row
      for (const l of lines.slice(1)) expect(l).toContain(escaped);
      expect(t.stdout).not.toMatch(/[\r\u202e\u0007]|\u001b\[31m|\u001b\]/);
      if (args.includes('always')) expect(t.stdout).toContain('\u001b[32msuccess\u001b[39m'); // our own colours still work
    }
    for (const args of [
      ['status', 'payment-service', '--format', 'json'],
      ['history', 'payment-service', '--format', 'json'],
    ]) {
      const j = cli(dir, args);
      expect(j.code, j.stderr).toBe(0);
      const rows = JSON.parse(j.stdout) as Array<{ deployed_by: string }>;
      expect(rows.map((x) => x.deployed_by)).toEqual([forged, forged]);
    }
  });
});

describe('user-named output files are written like a shell redirection', () => {
  const SBOM = ['sbom', 'payment-service', '--target', 'dev'];

  it('sbom --output to a symbolic link: the link stays a link and its target receives the document', () => {
    const dir = freshExample();
    const target = path.join(dir, 'elsewhere.json');
    writeFileSync(target, 'old');
    symlinkSync(target, path.join(dir, 'sbom.json'));
    const r = cli(dir, [...SBOM, '--output', 'sbom.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(path.join(dir, 'sbom.json')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(dir, 'sbom.json'))).toBe(target);
    expect((JSON.parse(readFileSync(target, 'utf8')) as { bomFormat: string }).bomFormat).toBe('CycloneDX');
  });

  it('test --junit-xml to a symbolic link: the link stays a link and its target receives the report', () => {
    const dir = freshExample();
    const target = path.join(dir, 'reports-elsewhere.xml');
    symlinkSync(target, path.join(dir, 'junit.xml')); // dangling: created through the link, like `> junit.xml`
    const r = cli(dir, ['test', 'payment-service', '--target', 'dev', '--junit-xml', 'junit.xml']);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(path.join(dir, 'junit.xml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toMatch(/^<\?xml [^>]*>\n<testsuites name="payment-service\/dev"/);
  });

  it('sbom --output to a FIFO and to a character device: fed through, never replaced by a regular file', async () => {
    const dir = freshExample();
    const fifo = path.join(dir, 'pipe');
    const dev = path.join(dir, 'null');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(spawnSync('mknod', [dev, 'c', '1', '3']).status).toBe(0); // a private /dev/null
    // A reader on the FIFO, as `atmos-pipe sbom ... --output pipe` would have in a shell pipeline.
    const reader = spawn('cat', [fifo]);
    let read = '';
    reader.stdout.on('data', (b: Buffer) => (read += b.toString()));
    const done = new Promise<number | null>((ok) => reader.on('close', ok));
    const child = spawn(process.execPath, [CLI, ...SBOM, '--output', 'pipe'], { cwd: dir, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1' } });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((ok) => child.on('close', ok));
    expect(code, err).toBe(0);
    expect(await done).toBe(0);
    expect((JSON.parse(read) as { bomFormat: string }).bomFormat).toBe('CycloneDX');
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    const n = cli(dir, [...SBOM, '--output', 'null']);
    expect(n.code, n.stderr).toBe(0);
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(readFileSync(dev, 'utf8')).toBe('');
  });
});

describe('template keys never reach Object.prototype', () => {
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '__proto__.polluted']) {
    it(`{{ target.context.${key} }} is an unknown context key: exit 2 located at the template, nothing written`, () => {
      const dir = freshExample((d) => editDeployment(d, (y) => y.replace(/MEMORY_LIMIT_MB: .*/, `MEMORY_LIMIT_MB: "{{ target.context.${key} }}"`)));
      const line =
        readFileSync(path.join(dir, DEPLOYMENT), 'utf8')
          .split('\n')
          .findIndex((l) => l.includes(`target.context.${key} `)) + 1;
      const before = snapshot(dir);
      for (const args of [
        ['describe', 'payment-service', '--target', 'dev'],
        ['rollout', 'payment-service', '--target', 'dev'],
      ]) {
        const r = cli(dir, args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${DEPLOYMENT}:${line}:`);
        expect(r.stderr).toContain(`{{ target.context.${key} }}: target "dev" has no context key "${key}"`);
      }
      expect(snapshot(dir)).toEqual(before);
    });
  }
});

describe('a refused run writes nothing', () => {
  it('rollout to prod without its promotion source (exit 3): the tree and refs are byte-identical', () => {
    const dir = freshExample();
    const before = snapshot(dir);
    const r = cli(dir, ['rollout', 'payment-service', '--target', 'prod']);
    expect(r.code, r.stderr).toBe(3);
    expect(snapshot(dir)).toEqual(before);
  });

  it('rollout to a target requiring an approval, after a build (exit 3): no SBOM memo, no run record, no refs — byte-identical', () => {
    const dir = freshExample((d) => editDeployment(d, prodNeedsApprovalOnly));
    const b = cli(dir, ['build', 'payment-service', '--target', 'prod']);
    expect(b.code, b.stderr).toBe(0);
    const before = snapshot(dir);
    const r = cli(dir, ['rollout', 'payment-service', '--target', 'prod']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/prod requires an approval of release r-[0-9a-f]+; none is recorded/);
    expect(snapshot(dir)).toEqual(before);
    // Approved, the same rollout records everything it skipped before.
    const ok = cli(dir, ['rollout', 'payment-service', '--target', 'prod', '--approve', '--approver', 'bob']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(listTree(dir).filter((f) => f.startsWith('.atmos/cache/sbom/'))).toHaveLength(1);
  });
});
