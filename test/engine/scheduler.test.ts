/**
 * The scheduler and the local engine on real processes and real files: caching, the CAS's
 * integrity, secrets, failure semantics, parallelism and the bubblewrap sandbox.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cas } from '../../src/cache/cas.js';
import { LocalEngine, which } from '../../src/engine/local.js';
import { Scheduler, type ComponentNode } from '../../src/engine/scheduler.js';
import type { RunEvent } from '../../src/engine/types.js';
import type { Step } from '../../src/steps/types.js';
import { makeRepo } from '../helpers.js';

const SH = '/bin/sh';

function step(id: string, script: string, extra: Partial<Step> = {}): Step {
  return {
    id,
    module: 'test.sh',
    component: extra.component ?? 'test/c',
    image: 'alpine:3.20',
    argv: [SH, '-c', script],
    env: {},
    secrets: [],
    inputs: {},
    outputs: {},
    needs: [],
    network: false,
    cache: 'content',
    ...extra,
  };
}

function node(address: string, steps: Step[], deps: string[] = []): ComponentNode {
  return { address, deps, expand: async () => steps.map((s) => ({ ...s, component: address })) };
}

async function run(cacheDir: string, nodes: ComponentNode[], opts: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) {
  const events: RunEvent[] = [];
  const s = new Scheduler({
    cacheDir,
    runId: `r${Math.random().toString(36).slice(2, 8)}`,
    engine: new LocalEngine(),
    parallelism: 4,
    keepGoing: false,
    noCache: false,
    keepWorkspace: false,
    allowToolDrift: false,
    emit: (e) => events.push(e),
    ...opts,
  });
  const outcome = await s.run(nodes);
  const status = Object.fromEntries(outcome.results.map((r) => [r.id, r.status]));
  return { outcome, events, status, cas: s.store };
}

describe('scheduler + local engine', () => {
  it('caches by content: an unchanged step is not run again; a changed input or --no-cache re-runs it', async () => {
    const dir = makeRepo({ 'src/a.txt': 'one\n' });
    const cacheDir = path.join(dir, '.atmos');
    const counter = path.join(dir, 'count');
    const cas = new Cas(path.join(cacheDir, 'cache'));
    const mk = () => [
      step('build', `cat in/a.txt > out.txt; echo x >> ${counter}`, {
        inputs: { in: cas.put(path.join(dir, 'src')) },
        outputs: { files: ['out.txt'] },
        mounts: [{ host: dir, path: dir, writable: true }],
      }),
    ];
    const first = await run(cacheDir, [node('test/c', mk())]);
    expect(first.status).toEqual({ build: 'done' });
    const second = await run(cacheDir, [node('test/c', mk())]);
    expect(second.status).toEqual({ build: 'cached' });
    expect(second.outcome.fingerprints.build).toBe(first.outcome.fingerprints.build);
    expect(readFileSync(counter, 'utf8')).toBe('x\n');
    // Cached outputs are the real ones.
    const out = second.outcome.results[0].outputs['out.txt'];
    expect(second.cas.readBytes(out.digest).toString()).toBe('one\n');
    writeFileSync(path.join(dir, 'src/a.txt'), 'two\n');
    const third = await run(cacheDir, [node('test/c', mk())]);
    expect(third.status).toEqual({ build: 'done' });
    const fourth = await run(cacheDir, [node('test/c', mk())], { noCache: true });
    expect(fourth.status).toEqual({ build: 'done' });
    expect(readFileSync(counter, 'utf8')).toBe('x\nx\nx\n');
  });

  it('passes outputs between steps by reference, and the consumer re-runs when the producer output changes', async () => {
    const dir = makeRepo({ 'v.txt': '1' });
    const cacheDir = path.join(dir, '.atmos');
    const cas = new Cas(path.join(cacheDir, 'cache'));
    const mk = () => [
      step('produce', 'mkdir -p gen && cp v.txt gen/v', { inputs: { 'v.txt': cas.put(path.join(dir, 'v.txt')) }, outputs: { dirs: ['gen'] }, cache: 'never' }),
      step('consume', 'cat gen/v > seen; echo \'{"v":\'"$(cat gen/v)"\'}\' > values.json', {
        needs: ['produce'],
        inputs: { gen: { step: 'produce', output: 'gen' } },
        outputs: { values: ['values.json'] },
      }),
    ];
    const a = await run(cacheDir, [node('test/c', mk())]);
    expect(a.status, JSON.stringify(a.events.filter((e) => e.type === 'step.finished'))).toEqual({ produce: 'done', consume: 'done' });
    expect(a.outcome.results.find((r) => r.id === 'consume')!.values['values.json']).toEqual({ v: 1 });
    const b = await run(cacheDir, [node('test/c', mk())]);
    expect(b.status).toEqual({ produce: 'done', consume: 'cached' });
    writeFileSync(path.join(dir, 'v.txt'), '2');
    const c = await run(cacheDir, [node('test/c', mk())]);
    expect(c.status).toEqual({ produce: 'done', consume: 'done' });
    expect(c.outcome.results.find((r) => r.id === 'consume')!.values['values.json']).toEqual({ v: 2 });
  });

  it('a step that writes to its inputs cannot corrupt the CAS', async () => {
    const dir = makeRepo({ 'src/data.txt': 'precious\n', 'src/sub/b.txt': 'b\n' });
    const cacheDir = path.join(dir, '.atmos');
    const cas = new Cas(path.join(cacheDir, 'cache'));
    const tree = cas.put(path.join(dir, 'src'));
    const vandal = step('vandal', 'echo ruined > in/data.txt; rm in/sub/b.txt; chmod 777 in; echo ok', { inputs: { in: tree } });
    const r = await run(cacheDir, [node('test/c', [vandal])]);
    expect(r.status).toEqual({ vandal: 'done' });
    // Every blob still matches its name, and the tree still materialises as it was.
    const blobs = readdirSync(cas.root).filter((n) => /^[0-9a-f]{64}$/.test(n));
    for (const b of blobs) expect(cas.verify(`sha256:${b}`)).toBe(true);
    const again = path.join(dir, 'again');
    cas.materialize(tree, again);
    expect(readFileSync(path.join(again, 'data.txt'), 'utf8')).toBe('precious\n');
    expect(readFileSync(path.join(again, 'sub/b.txt'), 'utf8')).toBe('b\n');
  });

  it('keys secrets by HMAC: a changed secret re-runs the step, and no value is ever stored', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const mk = () => [step('deploy', 'test -n "$API_TOKEN" && echo token-used', { secrets: ['API_TOKEN'] })];
    const a = await run(cacheDir, [node('test/c', mk())], { secretEnv: { API_TOKEN: 's3cr3t-value-1' } });
    const b = await run(cacheDir, [node('test/c', mk())], { secretEnv: { API_TOKEN: 's3cr3t-value-1' } });
    const c = await run(cacheDir, [node('test/c', mk())], { secretEnv: { API_TOKEN: 's3cr3t-value-2' } });
    expect([a.status.deploy, b.status.deploy, c.status.deploy]).toEqual(['done', 'cached', 'done']);
    expect(c.outcome.fingerprints.deploy).not.toBe(a.outcome.fingerprints.deploy);
    const grep = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? grep(path.join(d, e.name)) : readFileSync(path.join(d, e.name)).includes('s3cr3t') ? [path.join(d, e.name)] : []));
    expect(grep(cacheDir)).toEqual([]);
    expect(JSON.stringify([a.events, c.events])).not.toContain('s3cr3t');
  });

  it('on failure: dependents are skipped, running independent steps finish, nothing new starts; every failed and skipped step is reported', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const marker = (n: string) => path.join(dir, n);
    const nodes = [
      node('a', [step('a1', 'echo boom; exit 3'), step('a2', `touch ${marker('a2')}`, { needs: ['a1'] })]),
      node('b', [step('b1', `sleep 0.5; touch ${marker('b1')}`, { mounts: [{ host: dir, path: dir, writable: true }] })]),
      node('c', [step('c1', `touch ${marker('c1')}`)], ['a']),
      node('d', [step('d1', `sleep 1; touch ${marker('d1')}`, { mounts: [{ host: dir, path: dir, writable: true }] })], ['b']),
    ];
    const r = await run(cacheDir, nodes, { parallelism: 4 });
    expect(r.outcome.status).toBe('failed');
    expect(r.status.a1).toBe('failed');
    expect(r.status.a2).toBe('skipped');
    expect(r.status.b1).toBe('done'); // already running: it finishes
    expect(existsSync(marker('b1'))).toBe(true);
    expect(r.status['c:*']).toBe('skipped'); // depends on the failed component
    expect(r.status['d:*']).toBe('skipped'); // independent, but nothing new starts
    expect(existsSync(marker('d1'))).toBe(false);
    const failed = r.events.find((e) => e.type === 'step.finished' && e.status === 'failed');
    expect(failed).toMatchObject({ id: 'a1', exitCode: 3, logTail: ['boom'] });
    expect(readFileSync((failed as { logPath: string }).logPath, 'utf8')).toBe('boom\n');
  });

  it('--keep-going keeps starting independent steps', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const nodes = [node('a', [step('a1', 'exit 1')]), node('b', [step('b1', 'sleep 0.3')]), node('d', [step('d1', 'true')], ['b']), node('c', [step('c1', 'true')], ['a'])];
    const r = await run(cacheDir, nodes, { keepGoing: true });
    expect(r.status).toMatchObject({ a1: 'failed', b1: 'done', d1: 'done', 'c:*': 'skipped' });
  });

  it('runs at most --parallelism steps at once', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const log = path.join(dir, 'log');
    const nodes = Array.from({ length: 6 }, (_, i) =>
      node(`n${i}`, [step(`s${i}`, `echo start $(date +%s%N) >> ${log}; sleep 0.3; echo end $(date +%s%N) >> ${log}`, { cache: 'never', mounts: [{ host: dir, path: dir, writable: true }] })]),
    );
    await run(cacheDir, nodes, { parallelism: 2 });
    const ev = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, t]) => ({ k, t: BigInt(t) }))
      .sort((x, y) => (x.t < y.t ? -1 : 1));
    let cur = 0;
    let max = 0;
    for (const e of ev) {
      cur += e.k === 'start' ? 1 : -1;
      max = Math.max(max, cur);
    }
    expect(max).toBe(2);
  });

  it.runIf(process.platform === 'linux' && which('bwrap') !== undefined)('sandboxes steps with bubblewrap: no writes to the repository, no network, private /tmp', async () => {
    // Outside /tmp: the sandbox gives steps a private /tmp, which would hide a repo there.
    const dir = mkdtempSync(path.join('/var/tmp', 'atmos-pipe-sandbox-'));
    writeFileSync(path.join(dir, 'repo-file.txt'), 'original\n');
    const cacheDir = path.join(dir, '.atmos');
    mkdirSync(cacheDir, { recursive: true });
    const target = path.join(dir, 'repo-file.txt');
    const r = await run(
      cacheDir,
      [
        node('s', [
          step('write-repo', `echo hacked > ${target}`),
          step('write-ws', 'echo fine > here.txt && cat here.txt'),
          step('net', 'echo "{\\"interfaces\\": $(grep -c : /proc/net/dev)}" > values.json', { outputs: { values: ['values.json'] } }),
        ]),
      ],
      { keepGoing: true },
    );
    expect(r.status['write-repo']).toBe('failed');
    expect(readFileSync(target, 'utf8')).toBe('original\n');
    expect(r.status['write-ws']).toBe('done');
    // Without network only the loopback interface exists.
    expect(r.status.net).toBe('done');
    expect(r.outcome.results.find((x) => x.id === 'net')!.values['values.json']).toEqual({ interfaces: 1 });
    const engine = new LocalEngine();
    await engine.prepare([], { allowToolDrift: false });
    expect(engine.sandboxed).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks pinned tool versions: a mismatch is an error unless drift is allowed', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const s = step('tf', 'true', { argv: ['terraform', 'version'], tool: { name: 'terraform', version: '0.0.1' } });
    await expect(run(cacheDir, [node('t', [s])])).rejects.toThrow(/terraform 1\.\d+\.\d+ is on PATH, but the pinned version is 0\.0\.1/);
    const ok = await run(cacheDir, [node('t', [s])], { allowToolDrift: true });
    expect(ok.status.tf).toBe('done');
    expect(ok.events.some((e) => e.type === 'notice' && /allow-tool-drift/.test(e.message))).toBe(true);
  });
});
