/**
 * `GitRepo`: the tracking store over the git CLI. Git is the only database of what runs
 * where (SPEC 6). Every read uses a constant number of git processes whatever the number
 * of refs/tags/notes (one `for-each-ref`, one `notes list` + one `cat-file --batch`, ...);
 * every ref write is a compare-and-swap (`git update-ref <ref> <new> <old>`), and pushes use
 * `--force-with-lease` so a remote ref is never overwritten blindly.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError, withoutCredentials } from '../diagnostics/environment.js';
import { assertRefName } from './refname.js';
import { spawnGit, type GitRunner } from './runner.js';

/** The all-zero object id of the same length (sha1: 40, sha256: 64). */
export function zeroShaLike(sha: string): string {
  return '0'.repeat(sha.length === 64 ? 64 : 40);
}

/** The bytes of an annotated tag object, as `git tag -a` writes them (`message` ends with a newline). */
function tagObject(name: string, targetSha: string, message: string, tagger: string, type: 'commit' | 'tree' | 'blob' | 'tag' = 'commit'): string {
  return `object ${targetSha}\ntype ${type}\ntag ${name}\ntagger ${tagger}\n\n${message}`;
}

const HEX = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
function assertSha(sha: string, what: string): string {
  if (!HEX.test(sha)) throw new Error(`${what} must be a full lowercase object id, got "${sha}"`);
  return sha;
}
function assertFullRef(ref: string): string {
  assertRefName(ref);
  if (!ref.startsWith('refs/')) throw new Error(`expected a full ref name (refs/...), got "${ref}"`);
  return ref;
}

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
    /** The repository git ran in. */
    readonly cwd?: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`);
    this.name = 'GitError';
  }

  /** git failing is the environment (see {@link gitFailure}); a usage error of ours stays a bug. */
  toEnvironmentError(): EnvironmentError | undefined {
    return gitFailure(this);
  }
}

/**
 * git says "not a git repository" although `dir` (or an ancestor) has a `.git`: the
 * repository is damaged (e.g. `.git/refs` or `.git/HEAD` missing), which is not the same as
 * running outside Git. Undefined for any other failure.
 */
export function damagedRepository(e: GitError, dir: string): EnvironmentError | undefined {
  if (!/not a git repository/i.test(e.stderr)) return undefined;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const dotGit = path.join(d, '.git');
    if (existsSync(dotGit)) {
      const missing = ['HEAD', 'refs', 'objects'].filter((n) => statSync(dotGit).isDirectory() && !existsSync(path.join(dotGit, n)));
      return new EnvironmentError(
        'reading the Git repository',
        dotGit,
        `git does not recognise it${missing.length ? ` (missing: ${missing.map((n) => `.git/${n}`).join(', ')})` : ''}`,
        `the repository is damaged; repair it${missing.includes('refs') ? ' (mkdir -p .git/refs/heads .git/refs/tags, then git fsck)' : ' (git fsck)'} or clone it again`,
        { cause: e },
      );
    }
    if (path.dirname(d) === d) return undefined;
  }
}

/** The remote a push, fetch or ls-remote talked to (the first argument after `--`, else after the options). */
function remoteOf(e: GitError): string | undefined {
  if (!['push', 'fetch', 'ls-remote', 'pull'].includes(e.args[0])) return undefined;
  const dd = e.args.indexOf('--');
  return dd >= 0 ? e.args[dd + 1] : e.args.slice(1).find((a) => !a.startsWith('-'));
}

/** A failed git as an environment failure: what git did, where, its own reason, and what to do. */
export function gitFailure(e: GitError): EnvironmentError | undefined {
  if (/^usage: |unknown option|unknown switch|ambiguous argument/m.test(e.stderr)) return undefined; // our bug
  const lines = e.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const reason = withoutCredentials(lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? `exit ${e.code}`);
  const remote = remoteOf(e);
  const shownRemote = remote === undefined ? undefined : withoutCredentials(remote);
  const sub = e.args[0] ?? '';
  const what = remote !== undefined ? (sub === 'push' ? 'pushing to the tracking remote' : `reading the remote (git ${sub})`) : `git ${sub}`;
  let hint: string;
  if (e.code === 127) hint = 'install git and make sure it is on PATH';
  else if (/read-only file system/i.test(e.stderr)) hint = 'the repository is on a read-only file system; run from a writable checkout';
  else if (/no space left on device/i.test(e.stderr)) hint = 'the disk is full; free space and run again';
  else if (/permission denied/i.test(e.stderr) && remote === undefined) hint = 'check the owner and permissions of the repository (.git)';
  else if (remote !== undefined)
    hint = `check that ${shownRemote} exists and is reachable (git ls-remote ${shownRemote}) and that you may ${sub === 'push' ? 'push to' : 'read'} it${sub === 'push' ? '; nothing is lost: the deployment is recorded in this repository, run again with --push once the remote works' : ''}`;
  else if (/not a git repository/i.test(e.stderr))
    hint = 'run inside a Git repository; if it has a .git directory, the repository is damaged (.git/HEAD, .git/refs or .git/objects missing?): repair it or clone it again';
  else hint = "see git's message; fix the repository (git fsck) and run again";
  return new EnvironmentError(what, shownRemote ?? e.cwd, reason, hint, { cause: e });
}

/** A compare-and-swap that kept losing the race (after the allowed retries). */
export class CasConflictError extends Error {
  constructor(
    readonly ref: string,
    readonly current: string | null,
    readonly attempts: number,
  ) {
    super(`compare-and-swap on ${ref} lost the race ${attempts} times (now at ${current ?? 'nothing'})`);
    this.name = 'CasConflictError';
  }
}

/** An immutable tag already exists with different content. */
export class TagConflictError extends Error {
  constructor(
    readonly tag: string,
    readonly existing: RefInfo | undefined,
  ) {
    super(`tag ${tag} already exists with different content (tags are immutable history)`);
    this.name = 'TagConflictError';
  }
}

export interface GitRepoOptions {
  /** Injectable process runner (tests count processes with `countingRunner`). */
  runner?: GitRunner;
  /** Extra environment for every git process (e.g. GIT_COMMITTER_NAME). */
  env?: NodeJS.ProcessEnv;
}

export interface Head {
  sha: string;
  /** Short branch name; absent when HEAD is detached. */
  branch?: string;
}

export type CasResult = { ok: true } | { ok: false; current: string | null };

export interface CasUpdateResult {
  sha: string;
  previous: string | null;
  attempts: number;
  changed: boolean;
}

export interface RefInfo {
  /** Full ref name, e.g. refs/tags/atmos/deployments/d/t/c/20261122T061500.123Z. */
  ref: string;
  /** Object the ref points to (the tag object for annotated tags). */
  sha: string;
  type: string;
  /** Peeled object (the tagged object for annotated tags, else `sha`). */
  target: string;
  targetType: string;
  /** Annotated tags only: the full message (newlines intact), tagger and ISO date. */
  message?: string;
  tagger?: string;
  taggerDate?: string;
}

export interface TagResult {
  sha: string;
  /** false when an identical tag already existed (idempotent re-creation). */
  created: boolean;
}

// ---------------------------------------------------------------- push types

export interface PushSpec {
  /** Local ref or object id to push. Empty string = delete `dst`. */
  src: string;
  /** Full remote ref name. */
  dst: string;
  /**
   * Expected current remote value (compare-and-swap on the remote, via
   * `--force-with-lease=<dst>:<expect>`); null = must not exist on the remote.
   * Undefined = plain push (fast-forward only, tags must not exist).
   */
  expect?: string | null;
}

export type PushRefState = 'ok' | 'new' | 'forced' | 'deleted' | 'up-to-date' | 'rejected' | 'remote-rejected';

export interface PushRefStatus {
  src: string;
  dst: string;
  flag: string;
  state: PushRefState;
  /** git's summary, e.g. "[rejected]" or "abc..def". */
  summary: string;
  /** git's reason, e.g. "stale info", "fetch first", "non-fast-forward", "already exists". */
  reason?: string;
}

export interface FetchedState {
  remote: string;
  attempt: number;
  /** The refs rejected in this attempt (with git's reasons). */
  rejected: PushRefStatus[];
  /** The specs of this attempt. */
  specs: PushSpec[];
  /** Remote value of every rejected dst right now (null = absent on the remote). */
  remoteRefs: Map<string, string | null>;
  /** Local ref holding the fetched remote value (objects are available locally). */
  fetchedInto: Map<string, string>;
}

/** A ref as listed by `git ls-remote`. */
export interface RemoteRef {
  ref: string;
  sha: string;
  /** Peeled object (the tagged object for annotated tags, else `sha`). */
  target: string;
}

export type Reconcile = (state: FetchedState) => PushSpec[] | 'abort' | Promise<PushSpec[] | 'abort'>;

export interface PushOptions {
  /** Called after a rejection with the fetched state; returns the specs to retry, or 'abort'. */
  reconcile?: Reconcile;
  /** Total push attempts (default 3). */
  maxAttempts?: number;
  /** `git push --atomic` (all or nothing). */
  atomic?: boolean;
}

export interface PushResult {
  ok: boolean;
  aborted: boolean;
  attempts: number;
  /** Refs accepted by the remote over all attempts. */
  pushed: PushRefStatus[];
  /** Refs still rejected at the end (empty when ok). */
  rejected: PushRefStatus[];
  /** Per-attempt statuses, for precise reporting. */
  history: PushRefStatus[][];
}

const REF_FIELDS = ['refname', 'objectname', 'objecttype', '*objectname', '*objecttype', 'taggername', 'taggeremail', 'taggerdate:iso-strict', 'contents'];
const REF_FORMAT = `${REF_FIELDS.map((f) => `%(${f})`).join('%00')}%00`;

export class GitRepo {
  private readonly runner: GitRunner;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    opts: GitRepoOptions = {},
  ) {
    this.runner = opts.runner ?? spawnGit;
    this.env = {
      ...process.env,
      ...opts.env,
      LC_ALL: 'C',
      LANGUAGE: 'C',
      GIT_TERMINAL_PROMPT: '0',
    };
  }

  /** `Name <email>` of the committer, once `git var` was asked (it does not change within a process). */
  private ident?: string;

  /**
   * `Name <email> <time> <tz>` of the committer. Without a configured identity (a fresh
   * machine), records are written as `atmos-pipe <atmos-pipe@localhost>` instead of failing.
   * `git var` runs once; later calls reuse its name and email with the current time (unless
   * GIT_COMMITTER_DATE fixes the date, which git alone parses: then it asks git again).
   */
  async committerIdent(): Promise<string> {
    if (this.ident !== undefined && !this.env.GIT_COMMITTER_DATE) return `${this.ident} ${Math.floor(Date.now() / 1000)} ${tzOffset(new Date())}`;
    let r = await this.run(['var', 'GIT_COMMITTER_IDENT'], { allowFail: true });
    if (r.code !== 0) {
      this.env.GIT_COMMITTER_NAME ??= 'atmos-pipe';
      this.env.GIT_COMMITTER_EMAIL ??= 'atmos-pipe@localhost';
      this.env.GIT_AUTHOR_NAME ??= this.env.GIT_COMMITTER_NAME;
      this.env.GIT_AUTHOR_EMAIL ??= this.env.GIT_COMMITTER_EMAIL;
      r = await this.run(['var', 'GIT_COMMITTER_IDENT']);
    }
    const ident = r.text.trim();
    const m = /^(.*>) \d+ [+-]\d{4}$/.exec(ident);
    if (m) this.ident = m[1];
    return ident;
  }

  /** Runs git; throws GitError on a non-zero exit unless `allowFail`. */
  async run(args: string[], opts: { input?: string | Buffer; allowFail?: boolean } = {}): Promise<{ code: number; stdout: Buffer; stderr: string; text: string }> {
    const r = await this.runner(args, { cwd: this.dir, input: opts.input, env: this.env });
    if (r.code !== 0 && !opts.allowFail) throw new GitError(args, r.code, r.stderr, this.dir);
    return { ...r, text: r.stdout.toString('utf8') };
  }

  /** HEAD commit and branch — one git process. */
  async head(): Promise<Head> {
    const { text } = await this.run(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD']);
    const [sha, full] = text.split('\n');
    const head: Head = { sha: sha.trim() };
    const ref = (full ?? '').trim();
    if (ref.startsWith('refs/heads/')) head.branch = ref.slice('refs/heads/'.length);
    return head;
  }

  /** Current value of a full ref (not peeled), or null when absent — one git process. */
  async resolveRef(ref: string): Promise<string | null> {
    assertFullRef(ref);
    const r = await this.run(['rev-parse', '-q', '--verify', '--end-of-options', ref], { allowFail: true });
    if (r.code !== 0) return null;
    return r.text.trim();
  }

  /**
   * Compare-and-swap: sets `ref` to `newSha` only if it is currently `oldSha`
   * (null = must not exist). A lost race returns the current value; nothing is overwritten.
   */
  async updateRef(ref: string, newSha: string, oldSha: string | null, message = 'atmos-pipe'): Promise<CasResult> {
    assertFullRef(ref);
    assertSha(newSha, 'new value');
    if (oldSha !== null) assertSha(oldSha, 'old value');
    const args = ['update-ref', '-m', message, ref, newSha, oldSha ?? zeroShaLike(newSha)];
    return this.cas(ref, oldSha, args);
  }

  /** Compare-and-swap deletion: deletes `ref` only if it is currently `oldSha`. */
  async deleteRef(ref: string, oldSha: string): Promise<CasResult> {
    assertFullRef(ref);
    assertSha(oldSha, 'old value');
    return this.cas(ref, oldSha, ['update-ref', '-d', ref, oldSha]);
  }

  private async cas(ref: string, expected: string | null, args: string[]): Promise<CasResult> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.run(args, { allowFail: true });
      if (r.code === 0) return { ok: true };
      if (!/cannot lock ref/i.test(r.stderr)) throw new GitError(args, r.code, r.stderr, this.dir);
      const current = await this.resolveRef(ref);
      if (current !== expected) return { ok: false, current };
      // Still at the expected value: another process held the lock file. Back off, retry.
      if (/File exists|Unable to create/i.test(r.stderr) && attempt < 8) {
        await sleep(10 * 2 ** attempt + Math.floor(Math.random() * 10));
        continue;
      }
      throw new GitError(args, r.code, r.stderr, this.dir);
    }
  }

  /**
   * Read-compute-CAS loop: `compute(current)` returns the wanted value (returning `current`
   * leaves the ref alone). On a lost race it is called again with the winner's value.
   */
  async casUpdate(ref: string, compute: (current: string | null) => string | Promise<string>, retries = 5): Promise<CasUpdateResult> {
    let current = await this.resolveRef(ref);
    for (let attempts = 1; ; attempts++) {
      const next = await compute(current);
      if (next === current) return { sha: next, previous: current, attempts, changed: false };
      const r = await this.updateRef(ref, next, current);
      if (r.ok) return { sha: next, previous: current, attempts, changed: true };
      if (attempts > retries) throw new CasConflictError(ref, r.current, attempts);
      current = r.current;
    }
  }

  /**
   * Creates the annotated tag `refs/tags/<name>` -> `targetSha` (mktag + CAS from zero).
   * Tags are immutable: an identical existing tag (same target and message) is returned
   * as is; a different one is a TagConflictError.
   */
  async createAnnotatedTag(name: string, targetSha: string, message: string, opts: { targetType?: 'commit' | 'tree' | 'blob' | 'tag'; tagger?: string } = {}): Promise<TagResult> {
    const ref = assertFullRef(`refs/tags/${name}`);
    assertSha(targetSha, 'tag target');
    const msg = message.endsWith('\n') ? message : `${message}\n`;
    const tagger = opts.tagger ?? (await this.committerIdent());
    const tagSha = (await this.run(['mktag'], { input: tagObject(name, targetSha, msg, tagger, opts.targetType) })).text.trim();
    const r = await this.updateRef(ref, tagSha, null, `atmos-pipe: tag ${name}`);
    if (r.ok) return { sha: tagSha, created: true };
    const existing = (await this.readRefs(ref)).find((x) => x.ref === ref);
    if (existing && existing.type === 'tag' && existing.target === targetSha && existing.message === msg) {
      return { sha: existing.sha, created: false };
    }
    throw new TagConflictError(name, existing);
  }

  /**
   * Creates many annotated tags and moves many refs as ONE all-or-nothing transaction, in a
   * constant number of git processes whatever their number: one `git var` (the tagger), one
   * `git hash-object -t tag -w --stdin-paths` over files in a private temp dir (the very bytes
   * `createAnnotatedTag` gives `mktag`), and one `git update-ref --stdin` transaction that
   * creates every `refs/tags/<name>` (must not exist) and compare-and-swaps every move.
   * Returns the tag object ids by name, or null when the transaction was refused (a tag name
   * taken, a ref moved, a lock held) or no temp dir could be made: then no ref changed (the objects written are unreferenced
   * and left to `git gc`) and the caller takes the one-by-one path, which tells these apart.
   */
  async recordAtomically(
    tags: ReadonlyArray<{ name: string; targetSha: string; message: string }>,
    moves: ReadonlyArray<{ ref: string; newSha: string; oldSha: string | null }>,
    message = 'atmos-pipe',
  ): Promise<Map<string, string> | null> {
    const lines = ['start'];
    const shas = new Map<string, string>();
    if (tags.length > 0) {
      for (const t of tags) {
        assertFullRef(`refs/tags/${t.name}`);
        assertSha(t.targetSha, 'tag target');
      }
      const tagger = await this.committerIdent();
      let dir: string;
      try {
        if (/[\r\n]/.test(tmpdir())) throw new Error('a temp dir path with a newline cannot be passed to --stdin-paths');
        dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-tags-'));
      } catch {
        return null; // no private temp dir (TMPDIR unwritable): the one-by-one path needs none
      }
      try {
        const files = tags.map((t, i) => {
          const file = path.join(dir, String(i));
          writeFileSync(file, tagObject(t.name, t.targetSha, t.message.endsWith('\n') ? t.message : `${t.message}\n`, tagger), { mode: 0o600 });
          return file;
        });
        const out = (await this.run(['hash-object', '-t', 'tag', '-w', '--stdin-paths'], { input: `${files.join('\n')}\n` })).text.trim().split('\n');
        if (out.length !== tags.length) throw new GitError(['hash-object', '-t', 'tag', '-w', '--stdin-paths'], 0, `wrote ${out.length} objects for ${tags.length} tags`, this.dir);
        tags.forEach((t, i) => {
          const sha = assertSha(out[i].trim(), 'tag object');
          shas.set(t.name, sha);
          lines.push(`create refs/tags/${t.name} ${sha}`);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    for (const m of moves) {
      assertFullRef(m.ref);
      assertSha(m.newSha, 'new value');
      if (m.oldSha !== null) assertSha(m.oldSha, 'old value');
      lines.push(`update ${m.ref} ${m.newSha} ${m.oldSha ?? zeroShaLike(m.newSha)}`);
    }
    if (lines.length === 1) return shas;
    lines.push('prepare', 'commit');
    const r = await this.run(['update-ref', '-m', message, '--stdin'], { input: `${lines.join('\n')}\n`, allowFail: true });
    return r.code === 0 ? shas : null;
  }

  /**
   * Every ref under the given prefix(es) — ONE `git for-each-ref` process. Annotated tags
   * come with their message (newlines intact), tagger, date and peeled target.
   */
  async readRefs(prefixes: string | string[], opts: { sort?: string } = {}): Promise<RefInfo[]> {
    const list = typeof prefixes === 'string' ? [prefixes] : prefixes;
    for (const p of list) if (!p.startsWith('refs/')) throw new Error(`ref prefix must start with refs/: "${p}"`);
    const args = ['for-each-ref', `--format=${REF_FORMAT}`];
    if (opts.sort) args.push(`--sort=${opts.sort}`);
    args.push('--', ...list);
    const { text } = await this.run(args);
    return parseForEachRef(text);
  }

  // ------------------------------------------------------------------ notes

  /**
   * Writes (overwrite, default) or appends a note on `sha` in `notesRef`. The notes ref is
   * moved with a compare-and-swap (the note commit is built on a private temp ref), so two
   * concurrent writers never lose each other's notes. Constant number of processes.
   */
  async addNote(notesRef: string, sha: string, text: string, opts: { append?: boolean; retries?: number } = {}): Promise<string> {
    assertFullRef(notesRef);
    if (!notesRef.startsWith('refs/notes/')) throw new Error(`notes ref must be under refs/notes/: ${notesRef}`);
    assertSha(sha, 'annotated object');
    const sub = opts.append ? ['append'] : ['add', '-f'];
    return this.moveNotes(notesRef, (tmp) => this.run(['notes', '--ref', tmp, ...sub, '-F', '-', sha], { input: text }), 'atmos-pipe: notes', opts.retries);
  }

  /**
   * The shared compare-and-swap of a notes ref: `change` edits a private temp copy of it
   * (a note added, a merge), then the ref moves from the value the copy started from. A lost
   * race starts again from the winner's value, so no writer loses another's notes.
   */
  private async moveNotes(notesRef: string, change: (tmp: string) => Promise<unknown>, message: string, retries = 5): Promise<string> {
    // Note and merge commits need a committer: a fresh machine without one still records.
    if (this.ident === undefined) await this.committerIdent();
    const tmp = `refs/notes/atmos-tmp/${process.pid}-${randomBytes(6).toString('hex')}`;
    let current = await this.resolveRef(notesRef);
    for (let attempt = 1; ; attempt++) {
      try {
        if (current) await this.run(['update-ref', tmp, current, zeroShaLike(current)]);
        await change(tmp);
        const next = (await this.run(['rev-parse', '--verify', tmp])).text.trim();
        if (next === current) return next;
        const r = await this.updateRef(notesRef, next, current, message);
        if (r.ok) return next;
        if (attempt > retries) throw new CasConflictError(notesRef, r.current, attempt);
        current = r.current;
      } finally {
        await this.run(['update-ref', '-d', tmp], { allowFail: true });
      }
    }
  }

  /**
   * Notes of the given objects in `notesRef` — two git processes whatever their number
   * (`git notes list` + one `git cat-file --batch`). Objects without a note are absent.
   */
  async readNotes(notesRef: string, shas: string[]): Promise<Map<string, string>> {
    assertFullRef(notesRef);
    const out = new Map<string, string>();
    if (shas.length === 0) return out;
    const list = await this.run(['notes', '--ref', notesRef, 'list'], { allowFail: true });
    if (list.code !== 0) {
      if ((await this.resolveRef(notesRef)) === null) return out;
      throw new GitError(['notes', '--ref', notesRef, 'list'], list.code, list.stderr, this.dir);
    }
    const blobOf = new Map<string, string>();
    for (const line of list.text.split('\n')) {
      const [blob, obj] = line.trim().split(' ');
      if (blob && obj) blobOf.set(obj, blob);
    }
    const wanted = [...new Set(shas)].filter((s) => blobOf.has(s));
    if (wanted.length === 0) return out;
    const blobs = wanted.map((s) => blobOf.get(s)!);
    const { stdout } = await this.run(['cat-file', '--batch'], { input: `${blobs.join('\n')}\n` });
    const contents = parseCatFileBatch(stdout);
    for (const s of wanted) {
      const c = contents.get(blobOf.get(s)!);
      if (c !== undefined) out.set(s, c.toString('utf8'));
    }
    return out;
  }

  /**
   * Merges the notes ref `fromRef` (e.g. fetched from a remote) into `notesRef` with
   * `git notes merge -s <strategy>` (default cat_sort_uniq: both sides' lines, sorted, unique).
   * The merge is built on a private temp ref and `notesRef` is moved with a compare-and-swap,
   * like addNote. Returns the new value of `notesRef`.
   */
  async mergeNotes(notesRef: string, fromRef: string, opts: { strategy?: 'cat_sort_uniq' | 'union' | 'ours' | 'theirs'; retries?: number } = {}): Promise<string> {
    for (const r of [notesRef, fromRef]) {
      assertFullRef(r);
      if (!r.startsWith('refs/notes/')) throw new Error(`notes ref must be under refs/notes/: ${r}`);
    }
    const strategy = opts.strategy ?? 'cat_sort_uniq';
    return this.moveNotes(notesRef, (tmp) => this.run(['notes', '--ref', tmp, 'merge', '-q', '-s', strategy, fromRef]), 'atmos-pipe: notes merge', opts.retries);
  }

  // ------------------------------------------------------------------- push

  /**
   * Pushes refs, tags and notes. A rejected ref (stale lease, non-fast-forward, existing tag)
   * is never forced: the rejected refs are fetched (one ls-remote + one fetch), handed to
   * `reconcile`, and the specs it returns are pushed again, at most `maxAttempts` times.
   */
  async push(remote: string, specs: Array<PushSpec | string>, opts: PushOptions = {}): Promise<PushResult> {
    const maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    let current: PushSpec[] = specs.map((s) => (typeof s === 'string' ? { src: s, dst: s } : s));
    const pushed: PushRefStatus[] = [];
    const history: PushRefStatus[][] = [];
    for (let attempt = 1; ; attempt++) {
      for (const s of current) assertFullRef(s.dst);
      const args = ['push', '--porcelain'];
      if (opts.atomic) args.push('--atomic');
      for (const s of current) if (s.expect !== undefined) args.push(`--force-with-lease=${s.dst}:${s.expect ?? ''}`);
      args.push('--', remote, ...current.map((s) => `${s.src}:${s.dst}`));
      const r = await this.run(args, { allowFail: true });
      const statuses = parsePushPorcelain(r.text);
      history.push(statuses);
      const rejected = statuses.filter((s) => s.state === 'rejected' || s.state === 'remote-rejected');
      pushed.push(...statuses.filter((s) => s.state !== 'rejected' && s.state !== 'remote-rejected'));
      if (r.code !== 0 && rejected.length === 0) throw new GitError(args, r.code, r.stderr, this.dir);
      if (rejected.length === 0) return { ok: true, aborted: false, attempts: attempt, pushed, rejected: [], history };
      if (!opts.reconcile || attempt >= maxAttempts) {
        return { ok: false, aborted: false, attempts: attempt, pushed, rejected, history };
      }
      const state = await this.fetchRejected(remote, rejected, current, attempt);
      const next = await opts.reconcile(state);
      if (next === 'abort') return { ok: false, aborted: true, attempts: attempt, pushed, rejected, history };
      if (next.length === 0) return { ok: true, aborted: false, attempts: attempt, pushed, rejected: [], history };
      current = next;
    }
  }

  /**
   * Remote refs matching the patterns (`git ls-remote` tail/glob patterns) — ONE git
   * process whatever their number. Annotated tags come with their peeled target. No
   * patterns = no query (never the whole remote).
   */
  async lsRemote(remote: string, patterns: string[]): Promise<RemoteRef[]> {
    if (patterns.length === 0) return [];
    const { text } = await this.run(['ls-remote', '--', remote, ...patterns]);
    const byRef = new Map<string, RemoteRef>();
    const peeled = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (!sha || !ref) continue;
      if (ref.endsWith('^{}')) peeled.set(ref.slice(0, -3), sha);
      else byRef.set(ref, { ref, sha, target: sha });
    }
    for (const [ref, target] of peeled) {
      const r = byRef.get(ref);
      if (r) r.target = target;
    }
    return [...byRef.values()];
  }

  private async fetchRejected(remote: string, rejected: PushRefStatus[], specs: PushSpec[], attempt: number): Promise<FetchedState> {
    const dsts = [...new Set(rejected.map((r) => r.dst))];
    const ls = await this.run(['ls-remote', '--', remote, ...dsts]);
    const remoteRefs = new Map<string, string | null>(dsts.map((d) => [d, null]));
    for (const line of ls.text.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref && remoteRefs.has(ref)) remoteRefs.set(ref, sha);
    }
    const fetchedInto = new Map<string, string>();
    const ns = remoteNamespace(remote);
    const refspecs: string[] = [];
    for (const [dst, sha] of remoteRefs) {
      if (sha === null) continue;
      // Notes land under refs/notes/ so `git notes merge` can take them as is.
      const local = dst.startsWith('refs/notes/') ? `refs/notes/atmos-remote/${ns}/${dst.slice('refs/notes/'.length)}` : `refs/atmos-remote/${ns}/${dst.slice('refs/'.length)}`;
      fetchedInto.set(dst, local);
      refspecs.push(`+${dst}:${local}`);
    }
    if (refspecs.length) await this.run(['fetch', '--no-tags', '--no-write-fetch-head', '--', remote, ...refspecs]);
    return { remote, attempt, rejected, specs, remoteRefs, fetchedInto };
  }
}

/** A ref-safe namespace for a remote name or URL (where its refs are mirrored here). */
export function remoteNamespace(remote: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(remote)) return remote;
  let h = 0x811c9dc5;
  for (const ch of remote) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `url-${h.toString(16).padStart(8, '0')}`;
}

export function parseForEachRef(text: string): RefInfo[] {
  const parts = text.split('\0');
  const n = REF_FIELDS.length;
  const refs: RefInfo[] = [];
  for (let i = 0; i + n <= parts.length; i += n) {
    const [refname, sha, type, peeled, peeledType, tname, temail, tdate, contents] = parts.slice(i, i + n);
    const ref = refname.replace(/^\n/, '');
    const info: RefInfo = {
      ref,
      sha,
      type,
      target: peeled || sha,
      targetType: peeledType || type,
    };
    if (type === 'tag') {
      info.message = contents;
      if (tname || temail) info.tagger = [tname, temail].filter(Boolean).join(' ');
      if (tdate) info.taggerDate = tdate;
    }
    refs.push(info);
  }
  return refs;
}

export function parseCatFileBatch(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    const header = buf.toString('utf8', pos, nl);
    pos = nl + 1;
    const [name, type, size] = header.split(' ');
    if (type === 'missing' || size === undefined) continue;
    const len = Number(size);
    out.set(name, buf.subarray(pos, pos + len));
    pos += len + 1;
  }
  return out;
}

export function parsePushPorcelain(text: string): PushRefStatus[] {
  const out: PushRefStatus[] = [];
  for (const line of text.split('\n')) {
    const m = /^([ +\-*!=])\t([^\t]*)\t(.*)$/.exec(line);
    if (!m) continue;
    const [, flag, spec, rest] = m;
    const colon = spec.lastIndexOf(':');
    const src = colon >= 0 ? spec.slice(0, colon) : '';
    const dst = colon >= 0 ? spec.slice(colon + 1) : spec;
    const reasonM = /\(([^()]*)\)\s*$/.exec(rest);
    const summary = (reasonM ? rest.slice(0, reasonM.index) : rest).trim();
    let state: PushRefState;
    switch (flag) {
      case ' ':
        state = 'ok';
        break;
      case '+':
        state = 'forced';
        break;
      case '-':
        state = 'deleted';
        break;
      case '*':
        state = 'new';
        break;
      case '=':
        state = 'up-to-date';
        break;
      default:
        state = /remote rejected|remote failure/.test(summary) ? 'remote-rejected' : 'rejected';
    }
    const st: PushRefStatus = { src, dst, flag, state, summary };
    if (reasonM) st.reason = reasonM[1];
    out.push(st);
  }
  return out;
}

/** The `+hhmm` / `-hhmm` offset of local time, as Git writes it. */
function tzOffset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}
