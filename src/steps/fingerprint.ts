/**
 * The fingerprint of a step: the cache key that decides whether a step must run (SPEC 4.1).
 * Like wireit's, it is its own documented type; every field says why it is part of the key.
 * It is the sha256 of the canonical JSON (sorted keys, no whitespace) of {@link FingerprintData}.
 * Both engines compute it with this one function, so a step has the same fingerprint
 * whichever engine runs it.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Artifact, Capability, Step } from './types.js';
import { isOutputRef } from './types.js';

/** Bump when the meaning of a field changes: every cached result becomes a miss. */
export const FINGERPRINT_VERSION = 2;

export interface FingerprintData {
  /** Format version: a change in what a fingerprint means must never reuse old results. */
  v: number;
  /** Step type: two modules may run the same argv with different expectations of the result. */
  module: string;
  /** Container image (Dagger engine): different software gives different results. */
  image: string;
  /** Host tool and pinned version (local engine): same reason as `image`. */
  tool: { name: string; version: string } | null;
  /** The command itself. */
  argv: string[];
  /** Plain environment variables, sorted by name: they change behaviour. */
  env: [string, string][];
  /**
   * Secret names with an HMAC-SHA256 of each value, keyed by a random per-cache key: a changed
   * secret re-runs the step, yet no secret value (nor a plain hash of it) is ever stored.
   */
  secrets: [string, string][];
  /**
   * Every input's mount path, kind and digest, sorted by path: the content the step sees
   * (`absent` for an optional output its producer did not leave).
   */
  inputs: [string, Artifact['kind'], string][];
  /**
   * Output digests of the steps it depends on, sorted: an upstream change that reaches this
   * step through an output ref or a value must re-run it. Digests only, not the needed steps'
   * ids: an id names the pipeline and stage (`build:nixpack/api:install`,
   * `test:nixpack/api:build.install`), and the same work in another pipeline must hit the
   * same entry. What each dependency produced is already in its digest.
   */
  deps: string[];
  /**
   * Facts that are inputs without being files (e.g. the digest of the Terraform state it
   * starts from, and `module.digest`: the content of the repository or remote module that
   * returned the step, so a changed module re-runs its steps; src/module/digest.ts).
   */
  facts: [string, string][];
  /** What is captured: asking for different outputs is a different action. */
  outputs: { dirs: string[]; files: string[]; values: string[]; stdout: string | null };
  /** Where it runs, inside the workspace. */
  workdir: string;
  /** Paths bound from the host (and whether writable): where a step reads and writes outside its workspace. */
  mounts: [string, boolean][];
  /** Network access changes what a step can do (and read). */
  network: boolean;
  /** Which exit codes count as success. */
  successCodes: number[];
  /**
   * Capabilities the step requires, sorted; absent when none (so a step that requires nothing
   * keeps the key it had before capabilities existed). A capability changes what the step is:
   * with `container-build` the argv describes an image build instead of naming a command.
   * Deliberately NOT in the key: the step's tool caches (`caches`: a cache saves work, never
   * changes a result), how its host tool is found and checked (`hostTool`: advice and
   * visibility, not behaviour; the tool's name and version are in `tool`), the refusal's words
   * of a requirement (only the capability), and which engine runs the step (every engine
   * produces the same outputs from the same inputs, so a result cached by one is valid for the
   * other).
   */
  requires?: Capability[];
}

/** Canonical JSON: object keys sorted, arrays in order, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface FingerprintContext {
  /** Resolved digests of input refs: `<step>\0<output>` -> artifact (from finished steps). */
  resolveRef(step: string, output: string): Artifact | undefined;
  /** A digest summarising everything a needed step produced (outputs and values). */
  depDigest(step: string): string | undefined;
  /** HMAC key of the cache (32 random bytes). */
  secretKey: Buffer;
  /** Secret values (by env name); missing secrets count as empty. */
  secretValue(name: string): string | undefined;
}

const byFirst = <T extends unknown[]>(a: T, b: T) => ((a[0] as string) < (b[0] as string) ? -1 : (a[0] as string) > (b[0] as string) ? 1 : 0);

/** The data behind a fingerprint (printable with `--events ndjson` and in tests). */
export function fingerprintData(step: Step, ctx: FingerprintContext): FingerprintData {
  const inputs: [string, Artifact['kind'], string][] = [];
  for (const [mount, input] of Object.entries(step.inputs)) {
    const a = isOutputRef(input) ? ctx.resolveRef(input.step, input.output) : input;
    if (!a) {
      // An optional output its (finished) producer did not leave: recorded as absent.
      if (isOutputRef(input) && ctx.depDigest(input.step) !== undefined) {
        inputs.push([mount, 'file', 'absent']);
        continue;
      }
      throw new Error(`step ${step.id}: input ${mount} refers to ${isOutputRef(input) ? `${input.step}:${input.output}` : '?'}, which has not been produced`);
    }
    inputs.push([mount, a.kind, a.digest]);
  }
  inputs.sort(byFirst);
  const deps: string[] = step.needs.map((n) => {
    const d = ctx.depDigest(n);
    if (!d) throw new Error(`step ${step.id} needs ${n}, which has not finished`);
    return d;
  });
  deps.sort();
  return {
    v: FINGERPRINT_VERSION,
    module: step.module,
    image: step.image,
    tool: step.tool ? { name: step.tool.name, version: step.tool.version } : null,
    argv: [...step.argv],
    env: Object.entries(step.env).sort(byFirst),
    secrets: [...step.secrets].sort().map((name) => [
      name,
      createHmac('sha256', ctx.secretKey)
        .update(ctx.secretValue(name) ?? '')
        .digest('hex'),
    ]),
    inputs,
    deps,
    facts: Object.entries(step.facts ?? {}).sort(byFirst),
    outputs: {
      dirs: [...(step.outputs.dirs ?? [])].sort(),
      files: [...(step.outputs.files ?? [])].sort(),
      values: [...(step.outputs.values ?? [])].sort(),
      stdout: step.stdout ?? null,
    },
    workdir: step.workdir ?? '.',
    mounts: (step.mounts ?? []).map((m): [string, boolean] => [m.path, m.writable]).sort(byFirst),
    network: step.network,
    successCodes: [...(step.successCodes ?? [0])].sort((a, b) => a - b),
    ...(step.requires?.length ? { requires: [...new Set(step.requires.map((r) => r.capability))].sort() } : {}),
  };
}

export function fingerprintOf(data: FingerprintData): string {
  return sha256(canonicalJson(data));
}
