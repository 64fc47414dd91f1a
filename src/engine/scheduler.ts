/**
 * The scheduler (SPEC 4 step 4): runs a graph of components, each expanded into steps just
 * in time (when its dependencies have finished, so their outputs can reach its inputs).
 * Ready steps run with at most `parallelism` at once (p-limit). Each step is fingerprinted;
 * a fingerprint found in the action cache is not run again. Outputs enter the CAS only after
 * the step succeeded; cache entries are written last and atomically, so a killed run leaves
 * a consistent cache and the next run continues from it.
 *
 * The cache is verified, not trusted: an action entry must authenticate (src/cache/actions.ts)
 * and name blobs of the right size, and inputs are hashed as they are materialised. A corrupt
 * input is evicted; one this run put (a module or source tree, a generated file) is put again
 * from its source, one a step produced makes that step run again (then the step that needed
 * it). Each eviction is one notice; entries that failed authentication are one notice per run.
 *
 * Failure semantics: when a step fails, no new step starts whose inputs depend on it;
 * independent steps already running finish; unless `keepGoing`, no new step starts at all.
 * Every failed and skipped step is reported.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import pLimit from 'p-limit';
import { ActionCache, secretKey, type ActionEntry } from '../cache/actions.js';
import { Cas, CorruptObjectError } from '../cache/cas.js';
import { classifyEnvironmentError } from '../diagnostics/environment.js';
import { DiagnosticError } from '../diagnostics/index.js';
import { ensureCacheDir } from '../cache/dir.js';
import type { RemoteCache, RemoteCounters } from '../cache/remote/session.js';
import { writeRunStats } from '../cache/stats.js';
import { seal, sealSensitive, secrets as processSecrets, type SecretStore } from '../secrets/index.js';
import { canonicalJson, fingerprintData, fingerprintOf, sha256, type FingerprintData } from '../steps/fingerprint.js';
import type { Artifact, Step, StepInput, StepResult, StepStatus } from '../steps/types.js';
import { isOutputRef, stepWorkspace } from '../steps/types.js';
import { readFact } from '../steps/facts.js';
import { refuseUnsupported } from './capabilities.js';
import type { Engine, EventSink, RunEvent } from './types.js';

export interface ComponentNode {
  address: string;
  /** Addresses of components (in this run) that must finish first. */
  deps: string[];
  /** Expand into steps; called once every dependency succeeded. */
  expand(): Promise<Step[]>;
  /**
   * After all its steps succeeded: what dependents may read (may do work, e.g. assemble and
   * push an image; a throw fails the component).
   */
  outputs?(results: StepResult[]): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * The second phase: steps that need the component's outputs (its `after_<stage>` hooks),
   * expanded once {@link outputs} gave them, and run before the component counts as done
   * (dependents wait for them; one failing fails the component), even when another component
   * failed meanwhile. A dry run asks with the outputs when every first-phase step is cached,
   * else with none.
   */
  expandAfter?(outputs: Record<string, unknown> | undefined): Promise<Step[]>;
}

export interface SchedulerOptions {
  cacheDir: string;
  runId: string;
  engine: Engine;
  parallelism: number;
  keepGoing: boolean;
  noCache: boolean;
  keepWorkspace: boolean;
  allowToolDrift: boolean;
  emit: EventSink;
  /** Where secret values without a declared source come from (default process.env). */
  secretEnv?: NodeJS.ProcessEnv;
  /** Declared secret values (by source) and the masker of step output (default: the process's). */
  secrets?: SecretStore;
  /**
   * The shared cache (src/cache/remote/session.ts): looked up after the local action cache,
   * objects fetched when a step or a component's outputs need them, entries uploaded after
   * success. Never fails the run.
   */
  remote?: RemoteCache;
}

/**
 * A line longer than this without a newline is written out in pieces (a secret straddling
 * such a piece boundary is not masked; output is masked line by line).
 */
const MAX_PENDING_LINE = 1024 * 1024;

export interface RunOutcome {
  status: 'success' | 'failed';
  results: StepResult[];
  /** Outputs per component address (from ComponentNode.outputs). */
  componentOutputs: Record<string, Record<string, unknown>>;
  /** Every fingerprint computed, by step id (also for cached steps). */
  fingerprints: Record<string, string>;
  durationMs: number;
}

const now = () => new Date().toISOString();

/** Step id -> a file-system friendly, unique slug. */
export function stepSlug(id: string): string {
  const base = id
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 120);
  return `${base}-${sha256(id).slice(7, 15)}`;
}

/** How many times a step that failed transiently (`Step.retryWhen`) runs again. */
const RETRIES = 5;

/** A digest of everything a finished step produced (outputs and values). */
function resultDigest(r: StepResult): string {
  return sha256(canonicalJson({ outputs: r.outputs, values: r.values }));
}

export class Scheduler {
  private readonly cas: Cas;
  private readonly actions: ActionCache;
  private readonly key: Buffer;
  private readonly results = new Map<string, StepResult>();
  /** Every step expanded so far, by id (a step whose output turns out corrupt may run again). */
  private readonly steps = new Map<string, Step>();
  /** Steps running again because an output of theirs was corrupt, by id (one run at a time). */
  private readonly reruns = new Map<string, Promise<StepStatus>>();
  private readonly fingerprints: Record<string, string> = {};
  private readonly componentOutputs: Record<string, Record<string, unknown>> = {};
  private failed = false;
  /** Cacheable steps of this run by where their result came from, for the run's stats record. */
  private readonly tally = { local: 0, remote: 0, ran: 0 };
  /** Steps whose result came from the remote cache: fingerprint by id (their objects come when needed). */
  private readonly fromRemote = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly secrets: SecretStore;

  constructor(private readonly o: SchedulerOptions) {
    ensureCacheDir(o.cacheDir);
    this.secrets = o.secrets ?? processSecrets;
    this.cas = new Cas(path.join(o.cacheDir, 'cache'));
    this.key = secretKey(path.join(o.cacheDir, 'cache'));
    this.actions = new ActionCache(path.join(o.cacheDir, 'cache'), this.cas, this.key);
    // One listener per running step on the shared cancel signal: no limit warning at high parallelism.
    setMaxListeners(0, this.abort.signal);
  }

  get store(): Cas {
    return this.cas;
  }

  private emit(e: RunEvent): void {
    this.o.emit(e);
  }

  private notice(message: string): void {
    this.emit({ type: 'notice', time: now(), message });
  }

  /**
   * The action-cache entry of a step, if it may be used; blobs found corrupt on the way are
   * reported. Without a local one, the remote cache's (copied into the local action cache;
   * its objects come when needed).
   */
  private async lookup(s: Step, fp: string, dryRun = false): Promise<ActionEntry | undefined> {
    const hit = this.actions.get(fp);
    for (const e of this.cas.drainEvictions()) this.notice(`${e.message}, ${dryRun ? 'would re-run' : 're-running'} ${s.id}`);
    const remote = this.o.remote;
    if (hit) {
      if (!dryRun) {
        this.tally.local++;
        // A local result the shared cache lacks (made before it was configured, or while it was down).
        remote?.upload(hit);
      }
      return hit;
    }
    const shared = await remote?.lookup(fp, s.id);
    if (!shared) return undefined;
    this.fromRemote.set(s.id, fp);
    if (!dryRun) {
      try {
        this.actions.put(shared);
      } catch {
        // the local copy only spares the next run a remote lookup
      }
      this.tally.remote++;
    }
    return shared;
  }

  /** Fetch from the remote cache what the artifacts name that the local CAS lacks (a no-op without one). */
  private async fetchMissing(artifacts: (Artifact | undefined)[]): Promise<void> {
    const remote = this.o.remote;
    if (!remote) return;
    await Promise.all(artifacts.map((a) => ((a && !this.cas.has(a.digest)) || a?.kind === 'dir' ? remote.fetch(a) : undefined)));
  }

  /** Once per run: how many action entries were ignored because they did not authenticate. */
  private reportRejected(): void {
    const n = this.actions.rejected;
    if (n === 0) return;
    this.notice(`cache: ${n} action ${n === 1 ? 'entry' : 'entries'} failed authentication and ${n === 1 ? 'was' : 'were'} ignored (edited, or written with another key)`);
  }

  /** Run the components; resolves when everything finished or was skipped. */
  async run(components: ComponentNode[]): Promise<RunOutcome> {
    const t0 = Date.now();
    const limit = pLimit(Math.max(1, this.o.parallelism));
    const byAddress = new Map(components.map((c) => [c.address, c]));
    const state = new Map<string, 'pending' | 'running' | 'done' | 'failed' | 'skipped'>(components.map((c) => [c.address, 'pending']));
    for (const n of await this.o.engine.prepare([], { allowToolDrift: this.o.allowToolDrift })) this.emit({ type: 'notice', time: now(), message: n });

    const componentDone = new Map<string, Promise<void>>();
    const runComponent = (c: ComponentNode): Promise<void> => {
      let p = componentDone.get(c.address);
      if (p) return p;
      p = (async () => {
        await Promise.all(c.deps.filter((d) => byAddress.has(d)).map((d) => runComponent(byAddress.get(d)!)));
        const badDep = c.deps.find((d) => state.get(d) === 'failed' || state.get(d) === 'skipped');
        if (badDep || (this.failed && !this.o.keepGoing)) {
          state.set(c.address, 'skipped');
          this.skipComponent(
            c,
            badDep ? `needs ${badDep}, which ${state.get(badDep) === 'failed' ? 'failed' : 'was skipped'}` : 'an earlier step failed (use --keep-going to continue independent work)',
          );
          return;
        }
        state.set(c.address, 'running');
        const steps = await this.expandOrFail(c, 'plan', () => c.expand());
        if (!steps) {
          state.set(c.address, 'failed');
          return;
        }
        const ok = await this.runSteps(steps, limit);
        if (!ok) {
          state.set(c.address, 'failed');
          return;
        }
        const results = steps.map((s) => this.results.get(s.id)!);
        if (c.outputs) {
          const t = Date.now();
          try {
            this.componentOutputs[c.address] = await this.outputsOf(c, steps, results);
          } catch (e) {
            if (e instanceof DiagnosticError) throw e;
            this.failed = true;
            state.set(c.address, 'failed');
            const id = `${c.address}:outputs`;
            const reason = `${c.address}: ${(e as Error).message}`;
            this.record({ id, component: c.address, module: 'atmos-pipe.outputs', status: 'failed', outputs: {}, values: {}, durationMs: Date.now() - t, reason });
            this.emit({ type: 'step.finished', time: now(), id, component: c.address, module: 'atmos-pipe.outputs', status: 'failed', durationMs: Date.now() - t, reason });
            return;
          }
        }
        if (c.expandAfter) {
          const after = await this.expandOrFail(c, 'plan-after', () => c.expandAfter!(this.componentOutputs[c.address]));
          if (!after || !(await this.runSteps(after, limit, true))) {
            // A failed component has no outputs for anyone to read.
            delete this.componentOutputs[c.address];
            state.set(c.address, 'failed');
            return;
          }
        }
        state.set(c.address, 'done');
      })();
      componentDone.set(c.address, p);
      return p;
    };
    const before = this.o.remote ? { ...this.o.remote.counters } : undefined;
    try {
      await Promise.all(components.map((c) => runComponent(c)));
      this.reportRejected();
    } finally {
      await this.o.engine.close();
      await this.o.remote?.flush();
      this.saveStats(before);
    }
    const results = [...this.results.values()];
    const status = results.some((r) => r.status === 'failed') ? 'failed' : 'success';
    return { status, results, componentOutputs: this.componentOutputs, fingerprints: this.fingerprints, durationMs: Date.now() - t0 };
  }

  /** The run's cache record (`cache stats` reads them): hits by source, misses, and what the remote moved. */
  private saveStats(before: RemoteCounters | undefined): void {
    const remote = this.o.remote;
    let moved: Record<string, number | string | boolean> | undefined;
    if (remote && before) {
      moved = { location: remote.backend.location, namespace: remote.scope.namespace ?? '', available: remote.available };
      for (const [k, v] of Object.entries(remote.counters)) moved[k] = v - before[k as keyof RemoteCounters];
    }
    try {
      writeRunStats(this.o.cacheDir, { runId: this.o.runId, time: now(), hitsLocal: this.tally.local, hitsRemote: this.tally.remote, misses: this.tally.ran, ...(moved ? { remote: moved } : {}) });
    } catch {
      // statistics are never worth failing a run
    }
  }

  /**
   * What a run would do, without running anything (no workspace, no log, no engine): every
   * step with its fingerprint and whether it is cached. Computed by the same code as a real
   * run, so it is independent of the engine by construction.
   */
  async dryRun(components: ComponentNode[]): Promise<PlannedStep[]> {
    const byAddress = new Map(components.map((c) => [c.address, c]));
    const order: ComponentNode[] = [];
    const seen = new Set<string>();
    const visit = (c: ComponentNode) => {
      if (seen.has(c.address)) return;
      seen.add(c.address);
      for (const d of c.deps) if (byAddress.has(d)) visit(byAddress.get(d)!);
      order.push(c);
    };
    [...components].sort((a, b) => (a.address < b.address ? -1 : 1)).forEach(visit);
    const complete = new Set<string>();
    const planned: PlannedStep[] = [];
    for (const c of order) {
      const upstreamPending = c.deps.some((d) => byAddress.has(d) && !complete.has(d));
      const steps = await c.expand();
      refuseUnsupported(this.o.engine, steps);
      const byId = new Map(steps.map((st) => [st.id, st]));
      const status = new Map<string, PlannedStep['status']>();
      const visitStep = async (st: Step): Promise<PlannedStep['status']> => {
        const known = status.get(st.id);
        if (known) return known;
        const needs: PlannedStep['status'][] = [];
        for (const n of st.needs) needs.push(byId.has(n) ? await visitStep(byId.get(n)!) : this.results.has(n) ? 'cached' : 'blocked');
        let result: PlannedStep['status'];
        let fp: string | null = null;
        if (upstreamPending || needs.some((x) => x !== 'cached')) result = 'blocked';
        else {
          fp = this.fingerprint(st).fp;
          const hit = st.cache === 'content' && !this.o.noCache ? await this.lookup(st, fp, true) : undefined;
          if (hit) {
            this.record({ id: st.id, component: st.component, module: st.module, status: 'cached', fingerprint: fp, outputs: hit.outputs, values: hit.values, exitCode: hit.exitCode, durationMs: 0 });
            result = 'cached';
          } else result = 'run';
        }
        status.set(st.id, result);
        planned.push({ id: st.id, component: st.component, module: st.module, needs: [...st.needs], fingerprint: fp, status: result, argv: [...st.argv] });
        return result;
      };
      for (const st of steps) await visitStep(st);
      const cached = steps.every((st) => status.get(st.id) === 'cached');
      if (cached && c.outputs)
        this.componentOutputs[c.address] = await this.outputsFetching(
          c,
          steps.map((st) => this.results.get(st.id)!),
        );
      const after = c.expandAfter ? await c.expandAfter(cached ? this.componentOutputs[c.address] : undefined) : [];
      refuseUnsupported(this.o.engine, after);
      for (const st of after) byId.set(st.id, st);
      for (const st of after) await visitStep(st);
      if (cached && after.every((st) => status.get(st.id) === 'cached')) complete.add(c.address);
    }
    this.reportRejected();
    return planned;
  }

  /**
   * A component's steps (`expand` or `expandAfter`); undefined when they could not be planned,
   * which fails the component (reported as its `<address>:<what>` step). A configuration
   * problem (DiagnosticError) stops the run.
   */
  private async expandOrFail(c: ComponentNode, what: string, expand: () => Promise<Step[]>): Promise<Step[] | undefined> {
    try {
      const steps = await expand();
      refuseUnsupported(this.o.engine, steps);
      return steps;
    } catch (e) {
      if (e instanceof DiagnosticError) throw e;
      this.failed = true;
      const id = `${c.address}:${what}`;
      const reason = `could not plan the steps of ${c.address}: ${(e as Error).message}`;
      this.record({ id, component: c.address, module: 'atmos-pipe.expand', status: 'failed', outputs: {}, values: {}, durationMs: 0, reason });
      this.emit({ type: 'step.finished', time: now(), id, component: c.address, module: 'atmos-pipe.expand', status: 'failed', durationMs: 0, reason });
      return undefined;
    }
  }

  private record(r: StepResult): void {
    this.results.set(r.id, r);
  }

  private skipComponent(c: ComponentNode, reason: string): void {
    const id = `${c.address}:*`;
    this.record({ id, component: c.address, module: '-', status: 'skipped', outputs: {}, values: {}, durationMs: 0, reason });
    this.emit({ type: 'step.finished', time: now(), id, component: c.address, module: '-', status: 'skipped', durationMs: 0, reason });
  }

  /**
   * Run one component's steps (a small DAG); false when any failed or was skipped.
   * `finishing`: the second phase of a component whose stages ran (its after_ hooks): they
   * run even when another component failed meanwhile, so what was applied is checked and
   * recorded as it turned out rather than left half done.
   */
  private async runSteps(steps: Step[], limit: ReturnType<typeof pLimit>, finishing = false): Promise<boolean> {
    const ids = new Set(steps.map((s) => s.id));
    for (const s of steps) this.steps.set(s.id, s);
    for (const s of steps) {
      for (const n of s.needs) if (!ids.has(n) && !this.results.has(n)) throw new Error(`step ${s.id} needs unknown step ${n}`);
      for (const i of Object.values(s.inputs)) if (isOutputRef(i) && !s.needs.includes(i.step)) throw new Error(`step ${s.id} reads ${i.step} without needing it`);
    }
    const done = new Map<string, Promise<StepStatus>>();
    const byId = new Map(steps.map((s) => [s.id, s]));
    const runOne = (s: Step): Promise<StepStatus> => {
      let p = done.get(s.id);
      if (p) return p;
      p = (async (): Promise<StepStatus> => {
        const needs = await Promise.all(s.needs.map((n) => (byId.has(n) ? runOne(byId.get(n)!) : Promise.resolve(this.results.get(n)!.status))));
        const bad = s.needs.find((_n, i) => needs[i] === 'failed' || needs[i] === 'skipped');
        if (bad) return this.skip(s, `needs ${bad}, which ${this.results.get(bad)?.status === 'failed' ? 'failed' : 'was skipped'}`);
        return limit(async () => {
          if (this.failed && !this.o.keepGoing && !finishing) return this.skip(s, 'an earlier step failed (use --keep-going to continue independent work)');
          return this.execute(s);
        });
      })();
      done.set(s.id, p);
      return p;
    };
    const statuses = await Promise.all(steps.map(runOne));
    return statuses.every((st) => st === 'done' || st === 'cached');
  }

  private skip(s: Step, reason: string): StepStatus {
    this.record({ id: s.id, component: s.component, module: s.module, status: 'skipped', outputs: {}, values: {}, durationMs: 0, reason });
    this.emit({ type: 'step.finished', time: now(), id: s.id, component: s.component, module: s.module, status: 'skipped', durationMs: 0, reason });
    return 'skipped';
  }

  /** The value of a step's secret: from its declared source, else the runner's variable of that name. */
  private secretValue(s: Step, name: string): string | undefined {
    const source = s.secretSources?.[name];
    if (source) return this.secrets.get(source);
    const v = (this.o.secretEnv ?? process.env)[name];
    if (v !== undefined) this.secrets.addMask(v);
    return v;
  }

  private fingerprint(s: Step, facts?: Record<string, string>): { data: FingerprintData; fp: string } {
    const data = fingerprintData(facts ? { ...s, facts } : s, {
      resolveRef: (step, output) => this.results.get(step)?.outputs[output],
      depDigest: (step) => {
        const r = this.results.get(step);
        return r ? resultDigest(r) : undefined;
      },
      secretKey: this.key,
      secretValue: (n) => this.secretValue(s, n),
    });
    return { data, fp: fingerprintOf(data) };
  }

  /**
   * Put a corrupt (now evicted) or missing object again from where this run put it (a source
   * file, generated bytes), if it did: true, with a notice, when it is back.
   */
  private reput(e: CorruptObjectError, generated: string): boolean {
    const from = this.cas.restore(e.digest);
    if (from === undefined) return false;
    this.notice(`${e.message}, re-put from ${from ? shownPath(from) : generated}`);
    return true;
  }

  /**
   * Materialise a step's inputs, verified ({@link Cas.materialize}). A corrupt (now evicted) or
   * missing object this run put (a module or source tree, a generated file) is put again from
   * its source and materialisation starts over; otherwise, when an earlier step produced it,
   * it is returned with that step, which must run again.
   */
  private materializeInputs(s: Step, workspace: string): { producer: string; problem: CorruptObjectError } | undefined {
    // Shorter mount paths first, so files land inside trees.
    const mounts = Object.entries(s.inputs).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1));
    const restored = new Set<string>();
    for (;;) {
      let current: [string, StepInput] | undefined;
      try {
        for (const [mount, input] of mounts) {
          current = [mount, input];
          const a: Artifact | undefined = isOutputRef(input) ? this.results.get(input.step)?.outputs[input.output] : input;
          if (!a) continue; // an optional output the producer did not leave
          const dest = path.resolve(workspace, mount);
          if (dest !== workspace && !dest.startsWith(workspace + path.sep)) throw new Error(`input ${mount} escapes the workspace`);
          this.cas.materialize(a, dest);
        }
        return undefined;
      } catch (e) {
        if (!(e instanceof CorruptObjectError) || !current) throw e;
        const [mount, input] = current;
        if (restored.has(e.digest) || !this.reput(e, isOutputRef(input) ? 'content this run generated' : `the generated ${mount}`)) {
          if (isOutputRef(input)) return { producer: input.step, problem: e };
          throw new Error(`${e.message}; it cannot be put again (its source changed or is gone): run again`);
        }
        restored.add(e.digest);
        rmSync(workspace, { recursive: true, force: true });
        mkdirSync(workspace, { recursive: true });
      }
    }
  }

  /**
   * A component's outputs. When they read a corrupt object (now evicted) from a step's output
   * (e.g. the built tree an image is assembled from), it is put again from its source if this
   * run put it, else the last step that produced it runs again; then they are read again, once.
   */
  private async outputsOf(c: ComponentNode, steps: Step[], results: StepResult[]): Promise<Record<string, unknown>> {
    try {
      return await this.outputsFetching(c, results);
    } catch (e) {
      if (!(e instanceof CorruptObjectError)) throw e;
      if (!this.reput(e, 'content this run generated')) {
        const producer = [...steps].reverse().find((s) => this.produced(s.id, e.digest));
        if (!producer) throw e;
        this.dropRemote(producer.id);
        this.notice(`${e.message}, re-running ${producer.id}`);
        if ((await this.rerun(producer.id)) !== 'done') throw new Error(`${e.message}, and running ${producer.id} again failed`);
      }
      return c.outputs!(steps.map((s) => this.results.get(s.id)!));
    }
  }

  /** A step whose result came from the remote cache, which could not give an object of it: its remote entry is not used again (it runs here). */
  private dropRemote(id: string): void {
    const fp = this.fromRemote.get(id);
    if (fp === undefined) return;
    this.o.remote?.forget(fp);
    this.fromRemote.delete(id);
  }

  /**
   * A component's outputs; objects of results that came from the remote cache are fetched
   * when they are first needed: here, when the outputs read one that is not here yet (then
   * they are read again, once).
   */
  private async outputsFetching(c: ComponentNode, results: StepResult[]): Promise<Record<string, unknown>> {
    try {
      return await c.outputs!(results);
    } catch (e) {
      const fromRemote = results.filter((r) => this.fromRemote.has(r.id));
      if (!fromRemote.length || !(isMissing(e) || (e as NodeJS.ErrnoException)?.code === 'ENOENT')) throw e;
      await this.fetchMissing(fromRemote.flatMap((r) => Object.values(r.outputs)));
      return c.outputs!(results);
    }
  }

  /** Whether a finished step's outputs name the object (an artifact, or a file of an output tree). */
  private produced(id: string, digest: string): boolean {
    return Object.values(this.results.get(id)?.outputs ?? {}).some((a) => {
      if (a.digest === digest) return true;
      if (a.kind !== 'dir' || !this.cas.has(a.digest)) return false;
      try {
        return this.cas.manifest(a.digest).entries.some((x) => x.digest === digest);
      } catch {
        return false; // an unreadable manifest is found out when it is used
      }
    });
  }

  /** Run a step again because an output of it was corrupt (once at a time, whoever found it). */
  private rerun(id: string): Promise<StepStatus> {
    const running = this.reruns.get(id);
    if (running) return running;
    const step = this.steps.get(id);
    if (!step) return Promise.resolve('failed');
    const p = this.execute(step).finally(() => this.reruns.delete(id));
    this.reruns.set(id, p);
    return p;
  }

  private async execute(s: Step, attempt = 0): Promise<StepStatus> {
    const { fp } = this.fingerprint(s);
    this.fingerprints[s.id] = fp;
    const t0 = Date.now();
    if (s.cache === 'content' && !this.o.noCache) {
      const hit = await this.lookup(s, fp);
      if (hit) {
        this.record({
          id: s.id,
          component: s.component,
          module: s.module,
          status: 'cached',
          fingerprint: fp,
          outputs: hit.outputs,
          values: hit.values,
          exitCode: hit.exitCode,
          durationMs: Date.now() - t0,
          logDigest: hit.logDigest,
        });
        this.emit({ type: 'step.finished', time: now(), id: s.id, component: s.component, module: s.module, status: 'cached', fingerprint: fp, durationMs: Date.now() - t0 });
        return 'cached';
      }
    }
    this.emit({ type: 'step.started', time: now(), id: s.id, component: s.component, module: s.module, fingerprint: fp });
    if (s.cache === 'content') this.tally.ran++;
    const slug = stepSlug(s.id);
    const workspace = stepWorkspace(this.o.cacheDir, this.o.runId, slug);
    const logFile = path.join(this.o.cacheDir, 'logs', this.o.runId, `${slug}.log`);
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, '');
    const tail: string[] = [];
    // Output is masked here, once, line by line (a secret split across two chunks is still
    // one line): the log file, its CAS blob, step.output events and the tail only ever see
    // masked text.
    let partial = '';
    const decoder = new StringDecoder('utf8');
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > Math.max(40, s.failureLogLines ?? 20)) tail.shift();
    };
    const onOutput = (chunk: Buffer) => {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > MAX_PENDING_LINE) {
        lines.push(partial);
        partial = '';
      }
      if (lines.length === 0) return;
      const masked = lines.map((l) => this.secrets.mask(l));
      appendFileSync(logFile, `${masked.join('\n')}\n`);
      for (const line of masked) {
        keep(line);
        this.emit({ type: 'step.output', time: now(), id: s.id, line });
      }
    };
    const flush = () => {
      const rest = this.secrets.mask(partial + decoder.end());
      partial = '';
      if (!rest) return;
      appendFileSync(logFile, rest);
      keep(rest);
    };
    const fail = (why: string, exitCode?: number): StepStatus => {
      flush();
      this.failed = true;
      let reason = this.secrets.mask(why);
      let locked = false;
      if ((s.lockedWhen?.length || s.failureHints?.length) && existsSync(logFile)) {
        const log = readFileSync(logFile, 'utf8');
        if (s.lockedWhen?.length && s.lockedWhen.every((p) => log.includes(p))) {
          locked = true;
          reason = `${why}: a lock is held by another process (${s.lockedWhen[0]})`;
        } else {
          const hint = s.failureHints?.find((h) => log.includes(h.when));
          if (hint) reason = `${why}: ${hint.hint}`;
        }
      }
      const logDigest = existsSync(logFile) ? this.cas.putFile(logFile).digest : undefined;
      const durationMs = Date.now() - t0;
      const logTail = tail.slice(-(s.failureLogLines ?? 20));
      this.record({
        id: s.id,
        component: s.component,
        module: s.module,
        status: 'failed',
        fingerprint: fp,
        outputs: {},
        values: {},
        exitCode,
        durationMs,
        logDigest,
        logTail,
        reason,
        ...(locked ? { locked } : {}),
        ...(this.o.keepWorkspace ? { workspace } : {}),
      });
      this.emit({
        type: 'step.finished',
        time: now(),
        id: s.id,
        component: s.component,
        module: s.module,
        status: 'failed',
        fingerprint: fp,
        durationMs,
        exitCode,
        reason,
        logTail,
        logPath: logFile,
        ...(this.o.keepWorkspace ? { workspace } : {}),
      });
      if (!this.o.keepWorkspace) rmSync(workspace, { recursive: true, force: true });
      return 'failed';
    };
    try {
      rmSync(workspace, { recursive: true, force: true });
      mkdirSync(workspace, { recursive: true });
      await this.fetchMissing(Object.values(s.inputs).map((i) => (isOutputRef(i) ? this.results.get(i.step)?.outputs[i.output] : i)));
      const corrupt = this.materializeInputs(s, workspace);
      if (corrupt) {
        // The producer runs again, then this step (its fingerprint changes if the output does).
        const { producer, problem } = corrupt;
        this.dropRemote(producer);
        if (attempt >= 3) return fail(`${problem.message}, again after ${producer} ran again`);
        this.notice(`${problem.message}, re-running ${producer}`);
        rmSync(workspace, { recursive: true, force: true });
        const again = await this.rerun(producer);
        if (again === 'failed' || again === 'skipped') return fail(`an input from ${producer} was corrupt, and running ${producer} again failed`);
        return this.execute(s, attempt + 1);
      }
      const env: Record<string, string> = { ...s.env };
      for (const n of s.secrets) {
        const v = this.secretValue(s, n);
        if (v !== undefined) env[n] = v;
      }
      let res = await this.o.engine.exec({ step: s, workspace, env, onOutput, signal: this.abort.signal });
      // A known transient failure (`retryWhen`) runs the step again, from fresh inputs, after a
      // growing random pause (so that steps which collided do not collide again).
      for (let retry = 0; retry < RETRIES && !(s.successCodes ?? [0]).includes(res.exitCode); retry++) {
        flush();
        const log = readFileSync(logFile, 'utf8');
        const why = s.retryWhen?.find((p) => log.includes(p));
        if (!why || this.abort.signal.aborted) break;
        this.notice(`${s.id} failed with "${why}" (transient), running it again`);
        await new Promise((r) => setTimeout(r, (100 << retry) * (1 + Math.random())));
        rmSync(workspace, { recursive: true, force: true });
        mkdirSync(workspace, { recursive: true });
        if (this.materializeInputs(s, workspace)) break;
        res = await this.o.engine.exec({ step: s, workspace, env, onOutput, signal: this.abort.signal });
      }
      const local = this.o.engine as { drainNotices?: () => string[] };
      for (const n of local.drainNotices?.() ?? []) this.emit({ type: 'notice', time: now(), message: n });
      if (s.stdout && res.stdout) writeFileSync(path.join(workspace, s.workdir ?? '.', s.stdout), res.stdout);
      if (!(s.successCodes ?? [0]).includes(res.exitCode)) return fail(`exit ${res.exitCode}`, res.exitCode);
      // Collect outputs (only now do they enter the CAS).
      const outputs: Record<string, Artifact> = {};
      const root = path.join(workspace, s.workdir ?? '.');
      for (const o of [...(s.outputs.dirs ?? []), ...(s.outputs.files ?? [])]) {
        const p = path.join(root, o);
        if (existsSync(p)) outputs[o] = this.cas.put(p);
      }
      const values: Record<string, unknown> = {};
      for (const v of s.outputs.values ?? []) {
        const p = path.join(root, v);
        if (!existsSync(p)) return fail(`declared value output ${v} was not written`, res.exitCode);
        let parsed: unknown;
        try {
          parsed = JSON.parse(readFileSync(p, 'utf8'));
        } catch {
          return fail(`value output ${v} is not valid JSON`, res.exitCode);
        }
        // Sensitive values (`"sensitive": true`) are kept encrypted, in the cache and in memory;
        // a kept workspace (--keep-workspace) holds the sealed file too.
        values[v] = s.sealValues ? seal(parsed, this.key) : sealSensitive(parsed, this.key, this.secrets);
        if (this.o.keepWorkspace && canonicalJson(values[v]) !== canonicalJson(parsed)) writeFileSync(p, `${JSON.stringify(values[v], null, 2)}\n`);
      }
      flush();
      const logDigest = this.cas.putFile(logFile).digest;
      const durationMs = Date.now() - t0;
      const entry = { fingerprint: fp, step: s.id, module: s.module, outputs, values, exitCode: res.exitCode, durationMs, logDigest, createdAt: now() };
      if (s.cache === 'content') {
        // A step whose facts it changed itself (apply: the state it started from is gone) is
        // stored only under the facts it left: under the old ones, a later run starting from
        // them again (a deleted state file is `none` again) would wrongly skip the work.
        // A fact that cannot be read again (a database gone meanwhile) keeps the step out of
        // the cache: the step itself succeeded.
        let key: string | undefined = fp;
        if (s.refreshFacts) {
          const refreshed = { ...(s.facts ?? {}) };
          try {
            for (const [k, source] of Object.entries(s.refreshFacts)) refreshed[k] = await readFact(source, (n) => this.secretValue(s, n));
            key = this.fingerprint(s, refreshed).fp;
          } catch (e) {
            key = undefined;
            this.emit({ type: 'notice', time: now(), message: this.secrets.mask(`${s.id} is not cached: ${(e as Error).message}`) });
          }
        }
        if (key) {
          const stored = key === fp ? entry : { ...entry, fingerprint: key };
          this.actions.put(stored);
          this.o.remote?.upload(stored);
        }
      }
      this.record({
        id: s.id,
        component: s.component,
        module: s.module,
        status: 'done',
        fingerprint: fp,
        outputs,
        values,
        exitCode: res.exitCode,
        durationMs,
        logDigest,
        ...(this.o.keepWorkspace ? { workspace } : {}),
      });
      this.emit({
        type: 'step.finished',
        time: now(),
        id: s.id,
        component: s.component,
        module: s.module,
        status: 'done',
        fingerprint: fp,
        durationMs,
        exitCode: res.exitCode,
        ...(this.o.keepWorkspace ? { workspace } : {}),
      });
      if (!this.o.keepWorkspace) rmSync(workspace, { recursive: true, force: true });
      return 'done';
    } catch (e) {
      if (e instanceof DiagnosticError) throw e;
      const env = classifyEnvironmentError(e);
      return fail(env ? `${env.message}; ${env.hint}` : (e as Error).message);
    }
  }
}

/** A step as a dry run sees it: what would run, what is cached, under which fingerprint. */
export interface PlannedStep {
  id: string;
  component: string;
  module: string;
  needs: string[];
  /** null when it depends on a step (or component) that would run first. */
  fingerprint: string | null;
  /** 'cached': in the action cache; 'run': would run; 'blocked': waits for something that would run. */
  status: 'cached' | 'run' | 'blocked';
  argv: string[];
}

/** An object that is not in the local CAS (a step's output that came from the remote cache, not fetched yet). */
function isMissing(e: unknown): boolean {
  return e instanceof CorruptObjectError && e.got === 'missing';
}

/** A path as people read it: relative to the working directory when inside it. */
function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** A new run id: sortable time plus randomness. */
export function newRunId(): string {
  const t = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(3).toString('hex')}`;
}
