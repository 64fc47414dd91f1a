/**
 * Issue 11, items 3 and 5: the cache is never trusted without checking. Through the real CLI
 * (a separate process), real Terraform and real Git: CAS objects are verified when they are
 * materialised (a corrupt one is evicted and put again, or its producer runs again), action
 * entries carry an HMAC under the repository's key (a forged, edited or foreign entry is a
 * miss, reported once), and a corrupt image blob is evicted and rebuilt.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, commitAll, exampleGitRepo, git } from '../security/fixture.js';
import { makeRepo, writeFiles } from '../helpers.js';
import { ActionCache, type ActionEntry } from '../../src/cache/actions.js';
import { Cas, CorruptObjectError } from '../../src/cache/cas.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

const SVC = 'resource "terraform_data" "svc" {\n  input = "hello"\n}\n\noutput "greeting" {\n  value = terraform_data.svc.output\n}\n';
const EVIL_SVC = 'output "greeting" {\n  value = "evil"\n}\n';
const CONSUMER = 'variable "greeting" {\n  type = string\n}\n\nresource "terraform_data" "seen" {\n  input = var.greeting\n}\n\noutput "seen" {\n  value = terraform_data.seen.output\n}\n';
/** Fails during apply (its plan), before any state is written: the state fact stays the same. */
const BROKEN =
  'variable "open" {\n  type    = bool\n  default = false\n}\n\nresource "terraform_data" "gate" {\n  lifecycle {\n    precondition {\n      condition     = var.open\n      error_message = "the gate is closed"\n    }\n  }\n}\n';

const FILES: Record<string, string> = {
  'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
  'stacks/base.yaml': 'terraform:\n  vars: {}\n',
  'components/terraform/svc/main.tf': SVC,
  'components/terraform/consumer/main.tf': CONSUMER,
  'components/terraform/broken/main.tf': BROKEN,
  'deployments/shop.yaml': [
    'deployment:',
    '  name: shop',
    '  stacks: [base]',
    '  components:',
    '    terraform:',
    '      svc: {}',
    '      consumer:',
    '        metadata: { depends_on: [svc] }',
    '        vars:',
    '          greeting: "{{ terraform.svc.outputs.greeting }}"',
    '  targets:',
    '    dev: {}',
    '',
  ].join('\n'),
  'deployments/ops.yaml': ['deployment:', '  name: ops', '  stacks: [base]', '  components:', '    terraform:', '      broken: {}', '  targets:', '    dev: {}', ''].join('\n'),
};

const made: string[] = [];

/** The repository at `dir` (created, or emptied first), one commit. */
function repoAt(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, FILES);
  git(dir, 'init', '-q', '-b', 'main');
  commitAll(dir, 'initial');
  return dir;
}

function freshRepo(): string {
  const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-cache-'));
  made.push(base);
  return repoAt(path.join(base, 'repo'));
}

interface Event {
  type: string;
  id?: string;
  status?: string;
  fingerprint?: string;
  message?: string;
}

interface Run {
  code: number;
  stderr: string;
  events: Event[];
  notices: string[];
  /** Final status of each step id (the last step.finished wins). */
  status: Record<string, string>;
}

function run(dir: string, args: string[]): Run {
  const r = cli(dir, [...args, '--events', 'ndjson']);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
  const status: Record<string, string> = {};
  for (const e of events) if (e.type === 'step.finished' && e.id) status[e.id] = e.status!;
  return { code: r.code, stderr: r.stderr, events, notices: events.filter((e) => e.type === 'notice').map((e) => e.message!), status };
}

const cacheNotices = (r: Run) => r.notices.filter((n) => n.startsWith('cache:'));
const casBlob = (dir: string, digest: string) => path.join(dir, '.atmos/cache/cas/sha256', digest.replace(/^sha256:/, ''));
const actionsDir = (dir: string) => path.join(dir, '.atmos/cache/actions');

/** Overwrite a read-only store file (as a disk error, a restore or a person could). */
function overwrite(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    chmodSync(file, 0o644);
  } catch {
    // planted: not there yet
  }
  writeFileSync(file, data);
}

/** A value from the Terraform state of a component of `shop` in dev. */
function stateOutput(dir: string, component: string, output: string): unknown {
  const state = JSON.parse(readFileSync(path.join(dir, '.atmos/state/shop/dev', `${component}.tfstate`), 'utf8')) as { outputs: Record<string, { value: unknown }> };
  return state.outputs[output]?.value;
}

interface Entry {
  fingerprint: string;
  step: string;
  module: string;
  outputs: Record<string, { kind: string; digest: string }>;
  values: Record<string, unknown>;
  exitCode: number;
  [k: string]: unknown;
}

/** The action entries of a step, with their files. */
function entriesOf(dir: string, step: string): { file: string; entry: Entry }[] {
  return readdirSync(actionsDir(dir))
    .filter((n) => n.endsWith('.json'))
    .map((n) => ({ file: path.join(actionsDir(dir), n), entry: JSON.parse(readFileSync(path.join(actionsDir(dir), n), 'utf8')) as Entry }))
    .filter((x) => x.entry.step === step);
}

/** Appending a blank changes the state file's digest (drift), not its meaning: the apply step runs again. */
function touchState(dir: string, component: string): void {
  const f = path.join(dir, '.atmos/state/shop/dev', `${component}.tfstate`);
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n`);
}

describe('the library: Cas and ActionCache on real files', () => {
  it('materialize hashes every blob: a corrupt one is evicted and thrown; restore puts it again from its source', () => {
    const dir = makeRepo({ 'mod/main.tf': SVC, 'mod/sub/vars.tf': CONSUMER });
    const cas = new Cas(path.join(dir, 'cache'));
    const tree = cas.putDir(path.join(dir, 'mod'));
    const blob = `sha256:${sha(CONSUMER)}`;
    overwrite(cas.pathOf(blob), EVIL_SVC);
    const dest = path.join(dir, 'ws');
    let thrown: unknown;
    try {
      cas.materialize({ kind: 'dir', digest: tree }, dest);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CorruptObjectError);
    expect((thrown as CorruptObjectError).message).toBe(`cache: object ${blob} was corrupt (expected ${blob}, got sha256:${sha(EVIL_SVC)}); evicted`);
    expect(cas.has(blob)).toBe(false);
    expect(cas.restore(blob)).toBe(path.join(dir, 'mod/sub/vars.tf'));
    rmSync(dest, { recursive: true });
    cas.materialize({ kind: 'dir', digest: tree }, dest);
    expect(readFileSync(path.join(dest, 'sub/vars.tf'), 'utf8')).toBe(CONSUMER);
    // A manifest that does not match the tree's digest is never read as one.
    overwrite(cas.pathOf(tree), '{"kind":"atmos-pipe/tree@1","entries":[]}');
    expect(() => cas.materialize({ kind: 'dir', digest: tree }, path.join(dir, 'ws2'))).toThrow(CorruptObjectError);
    expect(cas.has(tree)).toBe(false);
  });

  it('an action entry is used only with its mac, under the same key; complete() catches a truncated blob', () => {
    const dir = makeRepo({ 'out.txt': 'output\n' });
    const cacheDir = path.join(dir, 'cache');
    const cas = new Cas(cacheDir);
    const out = cas.put(path.join(dir, 'out.txt'));
    const key = Buffer.alloc(32, 1);
    const fp = `sha256:${sha('step')}`;
    const entry: ActionEntry = { fingerprint: fp, step: 's', module: 'm', outputs: { 'out.txt': out }, values: { v: 1 }, exitCode: 0, durationMs: 1, createdAt: '2026-01-01T00:00:00.000Z' };
    new ActionCache(cacheDir, cas, key).put(entry);
    const file = path.join(cacheDir, 'actions', `${fp.slice(7)}.json`);
    const written = JSON.parse(readFileSync(file, 'utf8')) as ActionEntry;
    expect(written.mac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(written.sizes).toEqual({ 'out.txt': 7 });
    expect(new ActionCache(cacheDir, cas, key).get(fp)?.values).toEqual({ v: 1 });

    const other = new ActionCache(cacheDir, cas, Buffer.alloc(32, 2));
    expect(other.get(fp)).toBeUndefined();
    expect(other.get(fp)).toBeUndefined();
    expect(other.rejected).toBe(1); // one entry, however often it is asked for

    for (const forged of [
      { ...written, exitCode: 1 },
      { ...written, values: { v: 2 } },
      { ...written, mac: undefined },
    ]) {
      writeFileSync(file, JSON.stringify(forged));
      const actions = new ActionCache(cacheDir, cas, key);
      expect(actions.get(fp)).toBeUndefined();
      expect(actions.rejected).toBe(1);
    }

    writeFileSync(file, JSON.stringify(written));
    overwrite(cas.pathOf(out.digest), 'out');
    expect(new ActionCache(cacheDir, cas, key).get(fp)).toBeUndefined();
    expect(cas.drainEvictions().map((e) => e.message)).toEqual([`cache: object ${out.digest} was corrupt (expected ${out.digest}, got 3 bytes instead of 7); evicted`]);
    expect(cas.has(out.digest)).toBe(false);
  });
});

describe('CAS objects are verified when materialised', () => {
  it('a module blob overwritten in the CAS is evicted and put again from the source, with and without --no-cache', { timeout: 120_000 }, () => {
    const dir = freshRepo();
    // Planted before the first run under the predictable name of svc/main.tf: never applied.
    const good = `sha256:${sha(SVC)}`;
    const notice = `cache: object ${good} was corrupt (expected ${good}, got sha256:${sha(EVIL_SVC)}); evicted, re-put from components/terraform/svc/main.tf`;
    overwrite(casBlob(dir, good), EVIL_SVC);
    const first = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(first.code, first.stderr).toBe(0);
    expect(cacheNotices(first)).toEqual([notice]);
    expect(stateOutput(dir, 'svc', 'greeting')).toBe('hello');
    expect(stateOutput(dir, 'consumer', 'seen')).toBe('hello');
    expect(sha(readFileSync(casBlob(dir, good)))).toBe(good.slice(7));

    // Overwritten after a run; --no-cache runs everything, from verified inputs.
    overwrite(casBlob(dir, good), EVIL_SVC);
    const forced = run(dir, ['rollout', 'shop', '--target', 'dev', '--no-cache']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(cacheNotices(forced)).toEqual([notice]);
    expect(stateOutput(dir, 'svc', 'greeting')).toBe('hello');
    expect(stateOutput(dir, 'consumer', 'seen')).toBe('hello');

    // Unchanged re-run: every step a cache hit, nothing said about the cache.
    const again = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(again.status)).toEqual(Array(6).fill('cached'));
    expect(cacheNotices(again)).toEqual([]);
  });

  it('a corrupt output of a cached step makes that step run again before the step that needs it', { timeout: 120_000 }, () => {
    const dir = freshRepo();
    expect(run(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const init = 'rollout:terraform/consumer:init';
    const [{ entry }] = entriesOf(dir, init);
    const tree = JSON.parse(readFileSync(casBlob(dir, entry.outputs['.terraform'].digest), 'utf8')) as { entries: { path: string; digest: string }[] };
    const blob = tree.entries.find((e) => e.path === 'terraform.tfstate')!.digest;
    // Same size, other bytes: the entry's size check passes, the hash at materialisation does not.
    const bad = readFileSync(casBlob(dir, blob), 'utf8').replace('"version": 3', '"version": 4');
    overwrite(casBlob(dir, blob), bad);
    touchState(dir, 'consumer');
    const r = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(cacheNotices(r)).toEqual([`cache: object ${blob} was corrupt (expected ${blob}, got sha256:${sha(bad)}); evicted, re-running ${init}`]);
    expect(r.status[init]).toBe('done');
    expect(r.status['rollout:terraform/consumer:apply']).toBe('done');
    expect(sha(readFileSync(casBlob(dir, blob)))).toBe(blob.slice(7));

    // Truncated: the entry's size check already makes init a miss.
    overwrite(casBlob(dir, blob), bad.slice(0, 10));
    touchState(dir, 'consumer');
    const t = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(t.code, t.stderr).toBe(0);
    expect(cacheNotices(t)).toEqual([`cache: object ${blob} was corrupt (expected ${blob}, got 10 bytes instead of ${bad.length}); evicted, re-running ${init}`]);
    expect(t.status[init]).toBe('done');
    expect(stateOutput(dir, 'consumer', 'seen')).toBe('hello');
  });
});

describe('action entries are authenticated', () => {
  const WARNING = /^cache: (\d+) action (entry|entries) failed authentication and (was|were) ignored \(edited, or written with another key\)$/;

  it('a forged entry for a failing apply is a miss: the apply runs, fails, and no success is recorded', { timeout: 120_000 }, () => {
    const dir = freshRepo();
    const apply = 'rollout:terraform/broken:apply';
    const failed = run(dir, ['rollout', 'ops', '--target', 'dev']);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.status[apply]).toBe('failed');
    // The fingerprint the next run will compute is predictable (--dry-run prints it).
    const plan = JSON.parse(cli(dir, ['run', 'rollout', 'ops', '--target', 'dev', '--dry-run', '--format', 'json']).stdout) as { steps: { id: string; fingerprint: string }[] };
    const fp = plan.steps.find((s) => s.id === apply)!.fingerprint;
    // Forged from init's (authentic) entry: another step, "exit 0", nothing produced.
    const [{ entry }] = entriesOf(dir, 'rollout:terraform/broken:init');
    writeFileSync(
      path.join(actionsDir(dir), `${fp.slice(7)}.json`),
      JSON.stringify({ ...entry, fingerprint: fp, step: apply, module: 'terraform.apply', outputs: {}, sizes: {}, values: {}, exitCode: 0 }, null, 2),
    );

    const r = run(dir, ['rollout', 'ops', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.status[apply]).toBe('failed');
    expect(JSON.stringify(r.events.find((e) => e.id === apply && e.type === 'step.finished'))).toContain('the gate is closed');
    expect(cacheNotices(r)).toEqual(['cache: 1 action entry failed authentication and was ignored (edited, or written with another key)']);
    // Both rollouts are recorded as failed in Git; the forged success is recorded nowhere.
    const statuses = git(dir, 'for-each-ref', '--format=%(contents)', 'refs/tags/atmos/deployments/ops/dev/broken/').match(/^status: \S+$/gm);
    expect(statuses).toEqual(['status: failed', 'status: failed']);
  });

  it("entries copied from another checkout's cache (another key) are misses: every step runs", { timeout: 120_000 }, () => {
    const dir = freshRepo();
    expect(run(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    // Another machine's cache restored into a fresh checkout at the same path (its own key).
    const saved = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-cache-saved-'));
    made.push(saved);
    for (const d of ['actions', 'cas']) cpSync(path.join(dir, '.atmos/cache', d), path.join(saved, d), { recursive: true });
    repoAt(dir);
    for (const d of ['actions', 'cas']) cpSync(path.join(saved, d), path.join(dir, '.atmos/cache', d), { recursive: true });

    const r = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(r.status)).toEqual(Array(6).fill('done'));
    const warnings = cacheNotices(r);
    expect(warnings).toHaveLength(1);
    // init of both components (apply and output entries are keyed by the state they left, which a fresh checkout lacks)
    expect(Number(WARNING.exec(warnings[0])?.[1])).toBeGreaterThanOrEqual(2);
    expect(stateOutput(dir, 'consumer', 'seen')).toBe('hello');
  });

  it('edited values of an output step do not flow downstream', { timeout: 120_000 }, () => {
    const dir = freshRepo();
    expect(run(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const output = 'rollout:terraform/svc:output';
    // Every entry of the step (the one keyed by the state it started from, and the refreshed one).
    for (const { file, entry } of entriesOf(dir, output)) {
      const text = JSON.stringify(entry.values['outputs.json']);
      expect(text).toContain('"hello"');
      writeFileSync(file, JSON.stringify({ ...entry, values: { 'outputs.json': JSON.parse(text.replace('"hello"', '"evil"')) } }, null, 2));
    }

    const r = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(cacheNotices(r)).toEqual(['cache: 1 action entry failed authentication and was ignored (edited, or written with another key)']);
    expect(r.status[output]).toBe('done');
    // The real value reached consumer: its apply is the cached one of "hello".
    expect(r.status['rollout:terraform/consumer:apply']).toBe('cached');
    expect(stateOutput(dir, 'consumer', 'seen')).toBe('hello');
  });
});

describe('the local image store', () => {
  const D = 'payment-service';
  /** The digest the build recorded in the local image store's index. */
  const imageOf = (dir: string, r: Run) => {
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(readFileSync(path.join(dir, '.atmos/images/built.json'), 'utf8')) as Record<string, Record<string, { digest: string }>>)[D].api.digest;
  };

  it('a corrupt layer blob is evicted and the image rebuilt (same digest), also with --no-cache', { timeout: 240_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-cache-image-');
    const layout = path.join(dir, '.atmos/images');
    const first = run(dir, ['build', D]);
    const digest = imageOf(dir, first);
    expect(digest).toMatch(/^sha256:/);
    const blob = (d: string) => path.join(layout, 'blobs/sha256', d.slice(7));
    const manifest = JSON.parse(readFileSync(blob(digest), 'utf8')) as { layers: { digest: string }[] };
    const layer = manifest.layers[0].digest;
    const corrupt = () => {
      const bytes = readFileSync(blob(layer));
      bytes[bytes.length >> 1] ^= 0xff; // same size, one byte flipped
      overwrite(blob(layer), bytes);
      return `sha256:${sha(bytes)}`;
    };

    let got = corrupt();
    const again = run(dir, ['build', D]);
    expect(imageOf(dir, again)).toBe(digest);
    expect(cacheNotices(again)).toEqual([`cache: layer blob ${layer} of the OCI layout ${layout} was corrupt (expected ${layer}, got ${got}); evicted, rebuilding the image of nixpack/api`]);
    expect(sha(readFileSync(blob(layer)))).toBe(layer.slice(7));

    got = corrupt();
    const forced = run(dir, ['build', D, '--no-cache']);
    expect(imageOf(dir, forced)).toBe(digest);
    expect(cacheNotices(forced)).toEqual([`cache: image blob ${layer} of the OCI layout ${layout} was corrupt; replaced by the rebuilt one`]);
    expect(sha(readFileSync(blob(layer)))).toBe(layer.slice(7));
  });

  it('a corrupt file of a cached build tree is put again from the source, or the build step runs again, before the image is assembled', { timeout: 240_000 }, () => {
    // The build also writes a file of its own (in no source file, so only the build step can produce it).
    const dir = exampleGitRepo('atmos-pipe-cache-image-', (d) => {
      const f = path.join(d, 'services/api/scripts/build.js');
      writeFileSync(f, `import { writeFileSync } from 'node:fs';\n${readFileSync(f, 'utf8')}writeFileSync(path.join(dist, 'BUILD'), 'made by the build step\\n');\n`);
    });
    expect(run(dir, ['build', D]).code).toBe(0);
    const build = 'build:nixpack/api:build';
    const [{ entry }] = entriesOf(dir, build);
    const tree = JSON.parse(readFileSync(casBlob(dir, entry.outputs['.'].digest), 'utf8')) as { entries: { path: string; digest: string }[] };
    const blobOf = (p: string) => tree.entries.find((e) => e.path === p)!.digest;
    const corrupt = (digest: string) => {
      const bad = Buffer.from(readFileSync(casBlob(dir, digest)));
      bad[0] ^= 0xff;
      overwrite(casBlob(dir, digest), bad);
      return `sha256:${sha(bad)}`;
    };
    const copied = blobOf('dist/server.js'); // the same bytes as src/server.js
    const made = blobOf('dist/BUILD');

    // A new commit with the same source: the steps are cached, the image (new revision) is assembled.
    let got = corrupt(copied);
    commitAll(dir, 'nothing changed');
    const r = run(dir, ['build', D]);
    const digest = imageOf(dir, r);
    expect(cacheNotices(r)).toEqual([`cache: object ${copied} was corrupt (expected ${copied}, got ${got}); evicted, re-put from services/api/src/server.js`]);
    expect(r.status[build]).toBe('cached');

    got = corrupt(made);
    commitAll(dir, 'nothing changed again');
    const again = run(dir, ['build', D]);
    const digest2 = imageOf(dir, again);
    expect(cacheNotices(again)).toEqual([`cache: object ${made} was corrupt (expected ${made}, got ${got}); evicted, re-running ${build}`]);
    expect(again.status['build:nixpack/api:install']).toBe('cached');
    expect(again.status[build]).toBe('done');
    expect(sha(readFileSync(casBlob(dir, made)))).toBe(made.slice(7));

    // Each image holds the real files: the same digest as a build that reuses nothing.
    rmSync(path.join(dir, '.atmos/images'), { recursive: true });
    expect(imageOf(dir, run(dir, ['build', D, '--no-cache']))).toBe(digest2);
    expect(digest2).not.toBe(digest); // (another commit: another revision annotation)
    git(dir, 'checkout', '-q', 'HEAD~1');
    rmSync(path.join(dir, '.atmos/images'), { recursive: true });
    expect(imageOf(dir, run(dir, ['build', D, '--no-cache']))).toBe(digest);
  });
});

// Temp dirs of this file (the helpers remove theirs).
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('a step that changes its own facts is cached only under the facts it left', () => {
  it('a deleted state file is not a cache hit: apply runs again and recreates the state', { timeout: 120_000 }, () => {
    const dir = freshRepo();
    expect(run(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const state = path.join(dir, '.atmos/state/shop/dev/svc.tfstate');
    rmSync(state);
    // Before: the first run's entry was also stored under "no state", so this was all cached
    // and no state came back.
    const r = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.status['rollout:terraform/svc:apply']).toBe('done');
    expect(stateOutput(dir, 'svc', 'greeting')).toBe('hello');
    // And from the state it produced, the next run is all cache hits.
    const again = run(dir, ['rollout', 'shop', '--target', 'dev']);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(again.status).every((s) => s === 'cached')).toBe(true);
  });
});
