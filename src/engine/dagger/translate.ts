/**
 * The translation of one step into a Dagger container plan: pure (no session; the only I/O is
 * whether a host tool's file exists), so it is tested with a recording fake of the client.
 *
 * Per step: `container().from(step.image)`; the prepared workspace (inputs already materialised
 * by the scheduler) mounted from the host at {@link WORKSPACE_PATH}; each `step.mounts` entry
 * mounted from the host (relative ones where they lead from the workspace: {@link containerLayout});
 * the step's tool caches (`step.caches`) as cache volumes; plain env sorted by name; secrets via
 * `setSecret` + `withSecretVariable`, never as plain env; `withExec(argv, {expect: ANY})`; then
 * what to export back to the host, so the scheduler collects `step.outputs` exactly as with the
 * local engine.
 *
 * A step that requires `container-build` is not an exec: its argv describes a Dockerfile
 * build ({@link dockerBuildOf}).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { commandLine, type Step } from '../../steps/types.js';
import type { ExecRequest } from '../types.js';
import type { DaggerClient, DaggerContainer } from './client.js';
import { MERGE_TEMP_GLOB } from './merge.js';

// ---------------------------------------------------------------------------------------------
// Translation of one step.

/** Where the step's workspace is mounted in its container. */
export const WORKSPACE_PATH = '/atmos-pipe/workspace';
/** Where tool caches are mounted (unless the step's env names a path for the cache's variable). */
export const TOOL_CACHE_ROOT = '/atmos-pipe/cache';
/** Where the host files a step's tool reads (`hostTool.files`) are mounted, one per variable. */
export const HOST_FILE_ROOT = '/atmos-pipe/host-files';
/** The runner's variables every step container sees, as every local step does. */
export const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
/**
 * Set right before `withExec` to a fresh value: the scheduler is the cache authority (its
 * action cache keys on the secret HMACs, state facts and `cache: 'never'`, which Dagger's
 * layer cache does not see, dagger#6368), so an exec it asks for must really run.
 */
export const NONCE_VARIABLE = 'ATMOS_PIPE_EXEC_NONCE';

export interface ToolCache {
  /** Mount path in the container. */
  path: string;
  /** Cache volume name (the step's, prefixed `atmos-pipe-`): steps naming the same volume share it. */
  volume: string;
  /**
   * How concurrent steps share the volume. A cache for one writer at a time is PRIVATE, not
   * LOCKED: Dagger's LOCKED is an engine-wide lock held for the whole exec, so every step naming
   * the volume (every Terraform step: the plugin cache) would run one after another whatever
   * --parallelism says. PRIVATE gives a step that finds the volume in use its own instance (at
   * worst a download again), and nothing waits.
   */
  sharing: 'SHARED' | 'PRIVATE';
  /** Variable pointing the tool at the cache, when the step does not set it itself. */
  env?: [string, string];
}

function sanitizeKey(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/**
 * Cache volumes for the tool caches a step declares (`step.caches`): where the step's own env
 * points the tool (relative to its workdir), else under {@link TOOL_CACHE_ROOT} with the
 * variable set; PRIVATE unless the step says concurrent writers are safe.
 */
export function toolCaches(step: Step, workdir: string): ToolCache[] {
  return (step.caches ?? []).map((c) => {
    const volume = `atmos-pipe-${sanitizeKey(c.volume)}`;
    const sharing = c.sharing === 'shared' ? 'SHARED' : 'PRIVATE';
    const own = step.env[c.env];
    if (own) return { path: path.posix.resolve(workdir, own), volume, sharing };
    const dir = `${TOOL_CACHE_ROOT}/${sanitizeKey(c.dir)}`;
    return { path: dir, volume, sharing, env: [c.env, dir] };
  });
}

function inside(parent: string, p: string): boolean {
  return p === parent || p.startsWith(`${parent}/`);
}

export interface Translation {
  container: DaggerContainer;
  /**
   * What to export back after the exec, in order: the container's directory at `from` to the
   * host at `to`; with `changesOnly`, only the files the step changed (see merge.ts).
   */
  exports: { from: string; to: string; wipe: boolean; changesOnly?: boolean }[];
  /**
   * Container paths absolute symlinks in the exported workspace may lead to: the workspace
   * (made relative) and the tool caches (replaced by what they point at), so no link that
   * only resolves in this container reaches the content-addressed store (see links.ts).
   */
  links: { workspace: string; caches: string[] };
}

/** Below it, the container mirrors the host around a step that names its mounts relatively (see {@link containerLayout}). */
export const MIRROR_ROOT = '/atmos-pipe/host';

/** Where a step's workspace and mounts are in its container. */
export interface ContainerLayout {
  workspace: string;
  /** The step's mounts, in order, with their container paths. */
  mounts: { host: string; path: string; writable: boolean }[];
}

/**
 * Container paths of a step's workspace and mounts. Without relative mounts: the workspace at
 * {@link WORKSPACE_PATH}, each mount at its absolute path. A mount named relative to the
 * working directory (see StepMount: e.g. Terraform's local state, `../../../state/<d>/<t>`,
 * relative so that no host path reaches a fingerprint) must be where that path leads in the
 * container too: the workspace and those mounts are then placed below {@link MIRROR_ROOT} at
 * their positions relative to their nearest common host directory (e.g. the cache dir), so
 * every relative path resolves in the container as on the host, and no host path shows.
 */
export function containerLayout(step: Step, workspace: string): ContainerLayout {
  const hostWorkdir = path.resolve(workspace, step.workdir ?? '.');
  const leadsTo = new Map<number, string>();
  (step.mounts ?? []).forEach((m, i) => {
    if (!path.posix.isAbsolute(m.path)) leadsTo.set(i, path.resolve(hostWorkdir, m.path));
  });
  let ws = WORKSPACE_PATH;
  if (leadsTo.size > 0) {
    let common = path.resolve(workspace);
    for (const t of leadsTo.values()) while (common !== path.dirname(common) && path.relative(common, t).startsWith('..')) common = path.dirname(common);
    const mirror = (p: string) => path.posix.join(MIRROR_ROOT, path.relative(common, p).split(path.sep).join('/'));
    ws = mirror(workspace);
    for (const [i, t] of leadsTo) leadsTo.set(i, mirror(t));
  }
  return { workspace: ws, mounts: (step.mounts ?? []).map((m, i) => ({ host: m.host, path: leadsTo.get(i) ?? m.path, writable: m.writable })) };
}

/** The container of one step, up to and including `withExec`. */
export function translateStep(client: DaggerClient, req: Pick<ExecRequest, 'step' | 'workspace' | 'env'>, nonce: string, hostEnv: NodeJS.ProcessEnv = {}): Translation {
  const { step, workspace } = req;
  const layout = containerLayout(step, workspace);
  const wsPath = layout.workspace;
  const workdir = path.posix.resolve(wsPath, step.workdir ?? '.');
  if (!inside(wsPath, workdir)) throw new Error(`step ${step.id}: workdir ${step.workdir} escapes the workspace`);

  let c = client.container().from(step.image);
  c = c.withMountedDirectory(wsPath, client.host().directory(workspace, { noCache: true }));
  const exports: Translation['exports'] = [];
  for (const m of layout.mounts) {
    if (inside(wsPath, m.path) || inside(m.path, wsPath)) {
      throw new Error(`step ${step.id}: mount path ${m.path} overlaps the workspace mount ${wsPath}`);
    }
    // The merge of a step running beside this one writes its files under a temporary name
    // (merge.ts): never part of what a step sees, and gone by the time a load would read it.
    c = c.withMountedDirectory(m.path, client.host().directory(m.host, { noCache: true, exclude: [MERGE_TEMP_GLOB] }), m.writable ? undefined : { readOnly: true });
    // A writable mount is a copy loaded before the exec, shared on the host with steps running
    // beside it (Terraform's state directory holds every component's state): only the files this
    // step changed go back, so an export never rewrites another step's newer file.
    if (m.writable) exports.push({ from: m.path, to: m.host, wipe: false, changesOnly: true });
  }
  const caches = toolCaches(step, workdir);
  for (const tc of caches) c = c.withMountedCache(tc.path, client.cacheVolume(tc.volume), { sharing: tc.sharing });

  const secretNames = new Set(step.secrets);
  const plain = new Map<string, string>();
  for (const [k, v] of Object.entries(step.env)) if (!secretNames.has(k)) plain.set(k, v);
  for (const [k, v] of Object.entries(req.env)) if (!secretNames.has(k)) plain.set(k, v);
  // As on the local engine: the runner's proxies, and the files its host tool reads (e.g.
  // TF_CLI_CONFIG_FILE), mounted read-only with the variable pointing at them. The image keeps
  // its own PATH, HOME and locale.
  for (const k of PROXY_VARIABLES) {
    const v = hostEnv[k];
    if (v && !plain.has(k) && !secretNames.has(k)) plain.set(k, v);
  }
  for (const k of step.hostTool?.files ?? []) {
    const p = hostEnv[k];
    if (!p || plain.has(k) || secretNames.has(k) || !existsSync(p)) continue;
    const at = `${HOST_FILE_ROOT}/${sanitizeKey(k)}`;
    c = c.withMountedFile(at, client.host().file(path.resolve(p)));
    plain.set(k, at);
  }
  for (const tc of caches) if (tc.env && !plain.has(tc.env[0])) plain.set(tc.env[0], tc.env[1]);
  for (const k of [...plain.keys()].sort()) c = c.withEnvVariable(k, plain.get(k)!);

  for (const name of [...secretNames].sort()) {
    const value = req.env[name];
    if (value === undefined) continue; // not set on the host: the tool sees it unset, as locally
    c = c.withSecretVariable(name, client.setSecret(`atmos-pipe:${step.id}:${name}`, value));
  }

  c = c.withWorkdir(workdir);
  c = c.withEnvVariable(NONCE_VARIABLE, nonce);
  c = c.withExec(commandLine(step), { expect: 'ANY' });
  // The workspace last: the scheduler reads it once the exec and every export are done. Wiped,
  // so files the step deleted are gone as they would be locally. Host mounts are merged.
  exports.push({ from: wsPath, to: workspace, wipe: true });
  return { container: c, exports, links: { workspace: wsPath, caches: caches.map((tc) => tc.path) } };
}

// ---------------------------------------------------------------------------------------------
// Container builds (steps that require `container-build`).

/** Whether a step is a container build (its argv describes the build; see {@link dockerBuildOf}). */
export function isContainerBuild(step: Step): boolean {
  return step.requires?.some((r) => r.capability === 'container-build') ?? false;
}

export interface DockerBuild {
  /** Host directory of the build context: `<workspace>/<workdir>`. */
  context: string;
  /** The Dockerfile, relative to the context. */
  dockerfile: string;
  /** Host path the OCI tarball is written to, inside the context. */
  output: string;
}

function relativeInside(value: string, flag: string, step: Step): string {
  const n = path.posix.normalize(value.replace(/\\/g, '/'));
  if (!value || path.posix.isAbsolute(n) || n === '..' || n.startsWith('../') || n === '.') {
    throw new Error(`step ${step.id}: ${flag} ${JSON.stringify(value)} must be a file path inside the build context`);
  }
  return n;
}

/**
 * The Dockerfile build a container-build step describes: `docker-build --dockerfile <path>
 * --output <file>` (both relative to the step's workdir, the build context). There is no
 * container of `step.image` and no exec.
 */
export function dockerBuildOf(step: Step, workspace: string): DockerBuild {
  const [verb, ...rest] = step.argv;
  if (verb !== 'docker-build') throw new Error(`step ${step.id}: expected argv docker-build --dockerfile <path> --output <file>, got ${JSON.stringify(step.argv)}`);
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const [k, v] = [rest[i], rest[i + 1]];
    if ((k !== '--dockerfile' && k !== '--output') || v === undefined) throw new Error(`step ${step.id}: unexpected docker-build argument ${JSON.stringify(k)}`);
    flags[k] = v;
  }
  if (flags['--output'] === undefined) throw new Error(`step ${step.id}: docker-build needs --output <file>`);
  const dockerfile = relativeInside(flags['--dockerfile'] ?? 'Dockerfile', '--dockerfile', step);
  const output = relativeInside(flags['--output'], '--output', step);
  const context = path.resolve(workspace, step.workdir ?? '.');
  if (!inside(path.resolve(workspace), context)) throw new Error(`step ${step.id}: workdir ${step.workdir} escapes the workspace`);
  return { context, dockerfile, output: path.join(context, output) };
}
