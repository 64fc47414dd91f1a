import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CasConflictError, GitRepo, TagConflictError } from '../../src/tracking/git.js';
import { countingRunner } from '../../src/tracking/runner.js';
import { formatDeploymentRecord, historyTagName, notesRef, parseDeploymentRecord } from '../../src/tracking/records.js';
import { commit, git, GIT_ENV, initRepo } from './gitfixture.js';

const open = (dir: string, runner = countingRunner()) => ({ repo: new GitRepo(dir, { runner, env: GIT_ENV }), runner });

describe('GitRepo basics', () => {
  it('head() returns sha and branch in one process, no branch when detached', async () => {
    const dir = initRepo();
    const { repo, runner } = open(dir);
    const sha = git(dir, 'rev-parse', 'HEAD');
    expect(await repo.head()).toEqual({ sha, branch: 'main' });
    expect(runner.calls).toHaveLength(1);
    git(dir, 'checkout', '-q', '--detach');
    expect(await repo.head()).toEqual({ sha });
  });
});

describe('committer identity', () => {
  it('asks `git var` once and reuses name and email with the current time, as git writes it', async () => {
    const dir = initRepo();
    const { repo, runner } = open(dir);
    const first = await repo.committerIdent();
    const second = await repo.committerIdent();
    expect(runner.calls.filter((c) => c[0] === 'var')).toHaveLength(1);
    for (const ident of [first, second]) expect(ident).toMatch(/^Test Committer <committer@example\.com> \d+ [+-]\d{4}$/);
    const tz = (s: string) => s.split(' ').pop();
    expect(tz(second)).toBe(tz(first));
    expect(Math.abs(Number(second.split(' ').at(-2)) - Math.floor(Date.now() / 1000))).toBeLessThan(60);
  });

  it('asks git every time when GIT_COMMITTER_DATE fixes the date', async () => {
    const dir = initRepo();
    const runner = countingRunner();
    const repo = new GitRepo(dir, { runner, env: { ...GIT_ENV, GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z' } });
    expect(await repo.committerIdent()).toBe('Test Committer <committer@example.com> 1577836800 +0000');
    expect(await repo.committerIdent()).toBe('Test Committer <committer@example.com> 1577836800 +0000');
    expect(runner.calls.filter((c) => c[0] === 'var')).toHaveLength(2);
  });
});

describe('compare-and-swap refs', () => {
  const REF = 'refs/atmos/deployments/pay/dev/ecs/api';

  it('creates only when absent and never overwrites a stale expectation', async () => {
    const dir = initRepo();
    const { repo } = open(dir);
    const c1 = git(dir, 'rev-parse', 'HEAD');
    const c2 = commit(dir, 'two');
    const c3 = commit(dir, 'three');
    expect(await repo.updateRef(REF, c1, null)).toEqual({ ok: true });
    expect(await repo.updateRef(REF, c2, null)).toEqual({ ok: false, current: c1 });
    expect(await repo.updateRef(REF, c2, c1)).toEqual({ ok: true });
    // a writer still believing c1 loses and learns the winner's value
    expect(await repo.updateRef(REF, c3, c1)).toEqual({ ok: false, current: c2 });
    expect(await repo.resolveRef(REF)).toBe(c2);
  });

  it('interleaved updaters: the loser sees the winner and retries (no lost update)', async () => {
    const dir = initRepo();
    const a = open(dir).repo;
    const b = open(dir).repo;
    const base = git(dir, 'rev-parse', 'HEAD');
    const winner = commit(dir, 'winner');
    const mine = commit(dir, 'mine');
    await a.updateRef(REF, base, null);
    const seen: Array<string | null> = [];
    const res = await a.casUpdate(REF, async (current) => {
      seen.push(current);
      // b sneaks in between a's read and a's write, the first time only
      if (seen.length === 1) expect(await b.updateRef(REF, winner, current)).toEqual({ ok: true });
      return mine;
    });
    expect(seen).toEqual([base, winner]);
    expect(res).toEqual({ sha: mine, previous: winner, attempts: 2, changed: true });
  });

  it('concurrent updaters (parallel git processes) lose no update', async () => {
    const dir = initRepo();
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
    const root = git(dir, 'rev-parse', 'HEAD');
    const updaters = ['a', 'b', 'c'].map((who) => ({ who, repo: open(dir).repo, attempts: 0 }));
    await updaters[0].repo.updateRef(REF, root, null);
    const N = 8;
    await Promise.all(
      updaters.map(async (u) => {
        for (let i = 0; i < N; i++) {
          // each update is a commit on top of the current value: a lost update would break the chain
          const r = await u.repo.casUpdate(REF, async (current) => (await u.repo.run(['commit-tree', tree, '-p', current!, '-m', `${u.who}-${i}`])).text.trim(), 100);
          u.attempts += r.attempts;
        }
      }),
    );
    const log = git(dir, 'log', '--format=%s', REF).split('\n');
    expect(log).toHaveLength(3 * N + 1);
    for (const u of updaters) for (let i = 0; i < N; i++) expect(log).toContain(`${u.who}-${i}`);
  });

  it('gives up with CasConflictError after the allowed retries', async () => {
    const dir = initRepo();
    const { repo } = open(dir);
    const other = open(dir).repo;
    const tree = git(dir, 'rev-parse', 'HEAD^{tree}');
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await repo.updateRef(REF, c1, null);
    let n = 0;
    await expect(
      repo.casUpdate(
        REF,
        async (cur) => {
          // someone else always moves the ref between our read and our write
          const stolen = (await other.run(['commit-tree', tree, '-p', cur!, '-m', `steal-${n++}`])).text.trim();
          expect(await other.updateRef(REF, stolen, cur)).toEqual({ ok: true });
          return (await repo.run(['commit-tree', tree, '-p', cur!, '-m', `mine-${n}`])).text.trim();
        },
        2,
      ),
    ).rejects.toBeInstanceOf(CasConflictError);
    expect(n).toBe(3);
    expect(git(dir, 'log', '-1', '--format=%s', REF)).toBe('steal-2');
  });
});

describe('annotated tags', () => {
  it('round-trip their message; same content is idempotent, different content an error', async () => {
    const dir = initRepo();
    const { repo } = open(dir);
    const c1 = git(dir, 'rev-parse', 'HEAD');
    const c2 = commit(dir, 'two');
    const name = historyTagName('pay', 'dev', 'ecs/api', '2026-11-22T06:15:00.123Z');
    const msg = formatDeploymentRecord({
      deployment: 'pay',
      target: 'dev',
      component: 'ecs/api',
      release: null,
      git_sha: c1,
      images: {},
      deployed_by: 'ci',
      timestamp: '2026-11-22T06:15:00.123Z',
      status: 'success',
      promoted_from: null,
      approved_by: [],
      rollback_of: null,
      annotations: { why: 'line one\nline two' },
    });
    const first = await repo.createAnnotatedTag(name, c1, msg);
    expect(first.created).toBe(true);
    expect(git(dir, 'cat-file', '-t', `refs/tags/${name}`)).toBe('tag');
    expect(git(dir, 'rev-parse', `refs/tags/${name}^{commit}`)).toBe(c1);
    const [info] = await repo.readRefs(`refs/tags/${name}`);
    expect(info.message).toBe(msg);
    expect(info.target).toBe(c1);
    expect(info.tagger).toBe('Test Committer <committer@example.com>');
    expect(parseDeploymentRecord(info.message!).annotations.why).toBe('line one\nline two');

    const again = await repo.createAnnotatedTag(name, c1, msg);
    expect(again).toEqual({ sha: first.sha, created: false });
    await expect(repo.createAnnotatedTag(name, c1, `${msg}changed\n`)).rejects.toBeInstanceOf(TagConflictError);
    await expect(repo.createAnnotatedTag(name, c2, msg)).rejects.toBeInstanceOf(TagConflictError);
    expect(git(dir, 'rev-parse', `refs/tags/${name}`)).toBe(first.sha);
    expect(git(dir, 'fsck', '--no-dangling')).toBe('');
  });
});

describe('readRefs', () => {
  it('reads 2,000 annotated tags with exactly one git process, messages intact', async () => {
    const dir = initRepo();
    const head = git(dir, 'rev-parse', 'HEAD');
    const N = 2000;
    let stream = '';
    const msgOf = (i: number) => `atmos.tools/v1alpha1\nkind: Deployment\n---\nindex: ${i}\nnote: |\n  line a ${i}\n\n  line c\n`;
    for (let i = 0; i < N; i++) {
      const msg = Buffer.from(msgOf(i));
      stream += `tag atmos/deployments/pay/dev/ecs/api/${String(i).padStart(5, '0')}\nfrom ${head}\n`;
      stream += `tagger T <t@example.com> ${1_700_000_000 + i} +0000\ndata ${msg.length}\n${msg.toString()}\n`;
    }
    execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream, env: { ...process.env, ...GIT_ENV } });
    // a lightweight tag and a branch outside the prefix
    git(dir, 'update-ref', 'refs/tags/atmos/deployments/pay/dev/light', head);
    git(dir, 'update-ref', 'refs/tags/atmos/deployments/payx/dev/other', head);

    const { repo, runner } = open(dir);
    const refs = await repo.readRefs('refs/tags/atmos/deployments/pay');
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0][0]).toBe('for-each-ref');
    expect(refs).toHaveLength(N + 1);
    const annotated = refs.filter((r) => r.type === 'tag');
    expect(annotated).toHaveLength(N);
    for (const r of annotated) {
      const i = Number(r.ref.split('/').pop());
      expect(r.message).toBe(msgOf(i));
      expect(r.target).toBe(head);
      expect(r.targetType).toBe('commit');
      expect(r.taggerDate).toBe(new Date((1_700_000_000 + i) * 1000).toISOString().replace('.000Z', '+00:00'));
    }
    const light = refs.find((r) => r.ref.endsWith('/light'))!;
    expect(light).toMatchObject({ sha: head, target: head, type: 'commit' });
    expect(light.message).toBeUndefined();
  });
});

describe('notes', () => {
  it('round-trip on several commits in a constant number of processes', async () => {
    const dir = initRepo();
    const shas = [git(dir, 'rev-parse', 'HEAD')];
    for (let i = 1; i < 6; i++) shas.push(commit(dir, `c${i}`));
    const { repo, runner } = open(dir);
    const ref = notesRef('pay', 'test-results');
    for (const [i, s] of shas.entries()) if (i !== 3) await repo.addNote(ref, s, `<testsuite n="${i}">\n  ok\n</testsuite>\n`);
    await repo.addNote(ref, shas[0], 'overwritten\n');
    await repo.addNote(ref, shas[1], 'appended\n', { append: true });

    runner.reset();
    const notes = await repo.readNotes(ref, shas);
    expect(runner.calls.map((c) => c[0])).toEqual(['notes', 'cat-file']);
    expect(notes.get(shas[0])).toBe('overwritten\n');
    expect(notes.get(shas[1])).toBe('<testsuite n="1">\n  ok\n</testsuite>\n\nappended\n');
    expect(notes.get(shas[2])).toBe('<testsuite n="2">\n  ok\n</testsuite>\n');
    expect(notes.has(shas[3])).toBe(false);
    expect(notes.size).toBe(5);
    expect(git(dir, 'notes', '--ref', ref, 'show', shas[5])).toBe('<testsuite n="5">\n  ok\n</testsuite>');

    runner.reset();
    expect((await repo.readNotes(notesRef('pay', 'sbom'), shas)).size).toBe(0);
    expect(runner.calls.length).toBeLessThanOrEqual(2);
    expect(git(dir, 'for-each-ref', 'refs/notes/atmos-tmp')).toBe('');
  });

  it('concurrent note writers lose nothing (the notes ref moves by CAS)', async () => {
    const dir = initRepo();
    const shas = [git(dir, 'rev-parse', 'HEAD')];
    for (let i = 1; i < 8; i++) shas.push(commit(dir, `c${i}`));
    const ref = notesRef('pay', 'approvals');
    await Promise.all(shas.map((s, i) => open(dir).repo.addNote(ref, s, `approved ${i}\n`, { retries: 50 })));
    const notes = await open(dir).repo.readNotes(ref, shas);
    expect(notes.size).toBe(shas.length);
    for (const [i, s] of shas.entries()) expect(notes.get(s)).toBe(`approved ${i}\n`);
  });
});
