/**
 * Upstream outputs of components that are not part of a run (SPEC 5.3: "a component run
 * without its dependencies takes their outputs from the target's recorded release; if there
 * are none, exit 2 — an unknown value is never applied").
 *
 * Where they come from: every rollout records the non-sensitive outputs of each Terraform
 * component it applied in the component's history record (the annotated tag
 * `atmos/deployments/<d>/<t>/<c>/<ts>`, src/tracking/records.ts). The current record of a
 * component in a target is what runs there, so its outputs are that deployment's outputs. They
 * travel with the tags (`--push`), so a CI matrix job on another machine reads the outputs of
 * the job that applied the dependency. Sensitive outputs are never recorded: a component that
 * needs one runs with its dependency (`--with-deps`).
 */
import type { PipelineDefinition } from '../module/index.js';
import type { DeploymentConfig } from '../config/deployment.js';
import type { Repository } from '../repository.js';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import type { ResolvedComponent, ResolvedDeployment } from '../resolve/index.js';
import { currentOfComponent, type HistoryEntry } from '../tracking/history.js';

/** The recorded deployment of a component in a target. */
export interface UpstreamRecord {
  release: string | null;
  git_sha: string;
  /** History tag it was read from. */
  tag: string;
  /** Undefined: recorded before outputs were recorded. */
  outputs: Record<string, unknown> | undefined;
}

/** What a run knows about components outside it, by address. */
export interface UpstreamOutputs {
  records: Record<string, UpstreamRecord>;
  /** When promoting: the release the dependencies must run in the target, and its source target. */
  release?: { id: string; promotedFrom: string };
}

/** The current recorded deployment of every component of a target (history: newest first). */
export function upstreamFromHistory(history: HistoryEntry[], target: string): Record<string, UpstreamRecord> {
  const out: Record<string, UpstreamRecord> = {};
  const names = new Set(history.filter((h) => h.target === target).map((h) => h.component));
  for (const n of names) {
    const e = currentOfComponent(history, target, n);
    if (e) out[`terraform/${n}`] = { release: e.release, git_sha: e.git_sha, tag: e.tag, outputs: e.outputs };
  }
  return out;
}

/** What a tracked rollout knows from the history it read: when promoting, the dependencies must run the promoted release. */
export function rolloutUpstream(history: HistoryEntry[], target: string, release: string | null, promotedFrom: string | null): UpstreamOutputs {
  return { records: upstreamFromHistory(history, target), ...(release && promotedFrom ? { release: { id: release, promotedFrom } } : {}) };
}

/** The current recorded deployments of a target, read with one `git for-each-ref` (none outside Git). */
export async function readUpstream(repoRoot: string, deployment: string, target: string): Promise<Record<string, UpstreamRecord>> {
  const { GitRepo, historyFromRefs, historyTagPrefix } = await import('../tracking/index.js');
  try {
    const refs = await new GitRepo(repoRoot).readRefs(historyTagPrefix(deployment, target));
    return upstreamFromHistory(historyFromRefs(refs, deployment), target);
  } catch {
    return {}; // not a Git repository: nothing is recorded
  }
}

/** One template reference to an output that the run cannot take from a component it runs. */
export interface UnknownUpstream {
  /** The component whose configuration holds the reference. */
  component: string;
  /** The dependency (`terraform/ecr/api`). */
  dependency: string;
  /** `terraform.ecr/api.outputs.repository_url` */
  expr: string;
  location: Location;
  /** Why the value is unknown, said of the dependency ("has never been applied to dev"). */
  reason: string;
}

/**
 * Outputs a run can use for components it does not produce itself: the recorded ones of the
 * dependencies outside the run (and, when `inRunProducesOutputs` is false — e.g. a plan, which
 * applies nothing — of those inside it too); plus every reference whose value stays unknown.
 */
export function upstreamFor(
  members: ResolvedComponent[],
  upstream: UpstreamOutputs,
  target: string,
  inRunProducesOutputs: boolean,
): { outputs: Record<string, Record<string, unknown>>; unknown: UnknownUpstream[] } {
  const inRun = new Set(inRunProducesOutputs ? members.map((m) => m.address) : []);
  const outputs: Record<string, Record<string, unknown>> = {};
  const unknown: UnknownUpstream[] = [];
  for (const m of members) {
    for (const r of m.references) {
      if (r.ref.kind !== 'terraform') continue;
      const dependency = `terraform/${r.ref.component}`;
      if (inRun.has(dependency)) continue;
      const rec = upstream.records[dependency];
      const want = upstream.release;
      let reason: string | undefined;
      if (!rec) reason = `has never been applied to ${target}`;
      else if (want && rec.release !== want.id) reason = `runs release ${rec.release ?? '(none)'} in ${target}, not ${want.id}, the release being promoted`;
      else if (!rec.outputs) reason = `recorded no outputs when it was applied to ${target} (${rec.tag})`;
      else if (!Object.hasOwn(rec.outputs, r.ref.output)) reason = `has no recorded output "${r.ref.output}" in ${target} (sensitive outputs are never recorded)`;
      if (reason) {
        unknown.push({ component: m.address, dependency, expr: r.expr, location: r.location, reason });
        continue;
      }
      outputs[r.ref.component] = rec!.outputs!;
    }
  }
  return { outputs, unknown };
}

/** The command that applies a dependency in the target (the way out of an unknown value). */
export function applyCommand(dep: DeploymentConfig, target: string, dependency: string, upstream: UpstreamOutputs): string {
  const from = upstream.release ? ` --promote-from ${upstream.release.promotedFrom}` : '';
  return `atmos-pipe rollout ${dep.name} --target ${target}${from} --component ${dependency}`;
}

/** Exit 2 before anything runs: a mutating run never applies an unknown upstream value. */
export function refuseUnknownUpstream(dep: DeploymentConfig, resolved: ResolvedDeployment, unknown: UnknownUpstream[], upstream: UpstreamOutputs): void {
  if (unknown.length === 0) return;
  const diags: Diagnostic[] = unknown.map((u) =>
    error(
      'run/unknown-upstream',
      `${u.component} needs {{ ${u.expr} }}, but ${u.dependency} is not part of this run and ${u.reason}`,
      u.location,
      `apply it first: ${applyCommand(dep, resolved.target, u.dependency, upstream)}\nor apply both in one run: --component ${u.component} --with-deps`,
    ),
  );
  throw new DiagnosticError(diags);
}

/**
 * Upstream outputs of a run's Terraform components that the run does not produce: their
 * recorded deployment in the target (`upstream`, else read from Git). A mutating run (rollout)
 * stops here with exit 2 when one is unknown, before anything runs; a plan (which applies
 * nothing, so even its own dependencies keep their recorded outputs) gets the unknown ones
 * back and shows those components as unknown instead of planning them with a made-up value.
 */
export async function upstreamOfRun(
  repo: Repository,
  dep: DeploymentConfig,
  resolved: ResolvedDeployment,
  members: ResolvedComponent[],
  pipeline: PipelineDefinition,
  given: UpstreamOutputs | undefined,
): Promise<{ outputs: Record<string, Record<string, unknown>>; unknown: UnknownUpstream[] }> {
  const inRun = new Set(members.map((c) => c.address));
  const tf = members.filter((c) => c.type === 'terraform');
  if (!tf.some((c) => c.references.some((r) => r.ref.kind === 'terraform' && (!pipeline.mutates || !inRun.has(`terraform/${r.ref.component}`))))) return { outputs: {}, unknown: [] };
  const upstream = given ?? { records: await readUpstream(repo.config.repoRoot, dep.name, resolved.target) };
  const found = upstreamFor(tf, upstream, resolved.target, pipeline.mutates);
  if (pipeline.mutates) refuseUnknownUpstream(dep, resolved, found.unknown, upstream);
  return found;
}
