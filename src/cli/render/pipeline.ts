/**
 * Renderers for what a pipeline command returns (`src/run/pipeline-run.ts`): a release
 * record, a dry run's steps, a finished run's tables and a rollout's Git records. Each takes
 * a result and colours and returns text; the commands decide where it goes.
 */
import type { ApproveResult } from '../../rollout/approve.js';
import type { ReleaseResult } from '../../release/create.js';
import type { RolloutPlan, RolloutSummary } from '../../rollout/index.js';
import type { RunEvent } from '../../engine/types.js';
import { summarize } from '../../output/summary.js';
import type { DryRunSummary, RunSummary } from '../../run/index.js';
import { table, type Colors } from '../../render/index.js';

/** A push as the commands report it: whether it went through, where, and what was rejected. */
export type PushReport = ApproveResult['push'];

/** A rejected push on stderr (`suffix`: what to do next, where the command says so). */
export function renderPushFailure(push: NonNullable<PushReport>, suffix = ''): string {
  return `push to ${push.remote} failed: ${push.rejected.map((r) => `${r.ref} (${r.reason})`).join(', ')}${suffix}\n`;
}

/** Whether a requested push stayed rejected. */
export function pushFailed(push: PushReport): push is NonNullable<PushReport> {
  return Boolean(push && !push.ok);
}

/** A release as `--format json|yaml` prints it. */
export function releaseValue(r: ReleaseResult): Record<string, unknown> {
  return { id: r.id, tag: r.tag, created: r.created, file: r.relativeFile, record: r.record, ...(r.push ? { push: r.push } : {}) };
}

/** A release as the table format prints it. */
export function renderRelease(r: ReleaseResult): string {
  const context = r.record.context
    ? `  context: ${Object.entries(r.record.context)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ')}\n`
    : '';
  const content = r.record.id ? `  content: ${r.record.content_id}\n` : '';
  return `release ${r.id} ${r.created ? 'created' : 'already existed (releases are idempotent)'}\n  tag:    ${r.tag}\n  commit: ${r.record.git_sha}\n  file:   ${r.relativeFile}\n${context}${content}`;
}

/** A dry run: the release a rollout would choose (when it chooses one), then every step and whether it is cached. */
export function renderDryRun(plan: DryRunSummary, rp: RolloutPlan | undefined, c: Colors): string {
  const head = rp
    ? `would roll out ${rp.release ?? 'a new release'} (commit ${rp.commit.slice(0, 12)})${rp.promoted_from ? ` from ${rp.promoted_from}` : ''}${rp.rollback_of ? `, rolling back ${rp.rollback_of}` : ''}; approval: ${rp.approval}\n`
    : '';
  const rows = plan.steps.map((s) => [
    s.id,
    s.status === 'cached' ? c.green('cached') : s.status === 'run' ? c.yellow('would run') : c.dim(`after ${s.needs.join(', ') || 'dependencies'}`),
    s.fingerprint ? s.fingerprint.slice(0, 19) : '-',
  ]);
  const cached = plan.steps.filter((s) => s.status === 'cached').length;
  return `${head + table(['STEP', 'STATUS', 'FINGERPRINT'], rows, c)}${cached} cached, ${plan.steps.length - cached} to run\n`;
}

/**
 * The plan pipeline's counts per component, then a line per component that was not planned
 * because an upstream output it needs is unknown (its counts are unknown too).
 */
export function renderPlanCounts(summary: RunSummary, c: Colors): string {
  const unknownOf = (o: Record<string, unknown>) => (Array.isArray(o.unknown) ? (o.unknown as { value: string; reason: string }[]) : []);
  // Terraform components only: an artifact built before them (a declared component type) plans nothing.
  const entries = Object.entries(summary.componentOutputs).filter(([addr]) => addr.startsWith('terraform/'));
  const rows = entries.map(([addr, o]) => (unknownOf(o).length ? [addr, '?', '?', '?'] : [addr, String(o.add ?? 0), String(o.change ?? 0), String(o.destroy ?? 0)]));
  let out = rows.length ? table(['COMPONENT', 'ADD', 'CHANGE', 'DESTROY'], rows, c) : '';
  for (const [addr, o] of entries) for (const u of unknownOf(o)) out += `${addr}: {{ ${u.value} }} is unknown (${u.reason}); not planned\n`;
  return out;
}

/**
 * The images a run built and whether they were pushed, then the artifacts of declared
 * component types with a digest (e.g. zip archives); empty when it built none.
 */
export function renderBuiltImages(summary: RunSummary, c: Colors): string {
  const artifacts = Object.entries(summary.componentOutputs).filter(([addr, o]) => !/^(nixpack|terraform)\//.test(addr) && typeof o.digest === 'string');
  const artifactTable = artifacts.length
    ? table(
        ['COMPONENT', 'DIGEST'],
        artifacts.map(([addr, o]) => [addr, String(o.digest)]),
        c,
      )
    : '';
  const built = Object.entries(summary.componentOutputs).filter(([addr, o]) => addr.startsWith('nixpack/') && typeof o.image === 'string');
  if (!built.length) return artifactTable;
  return (
    table(
      ['COMPONENT', 'IMAGE', 'TAGS', 'PUSHED'],
      built.map(([addr, o]) => [addr, String(o.image), Array.isArray(o.tags) ? o.tags.join(', ') : String(o.tag ?? ''), o.pushed ? 'yes' : 'no (local store .atmos/images)']),
      c,
    ) + artifactTable
  );
}

/** A rollout's Git records: the release, each component's history tag, and the push. */
export function renderTracking(t: RolloutSummary, c: Colors): string {
  if (!t.tracked || !t.release) return '';
  const lines: string[] = [];
  const d = t.decision;
  lines.push(
    `release ${c.bold(t.release.id)} (${t.release.created ? 'created' : 'existing'}) at commit ${t.release.record.git_sha.slice(0, 12)}${d?.promotedFrom ? `, promoted from ${d.promotedFrom}` : ''}${d?.rollbackOf ? `, rollback of ${d.rollbackOf}` : ''}${t.approvedBy.length ? `, approved by ${t.approvedBy.join(', ')}` : ''}`,
  );
  for (const r of t.recorded) {
    const st = r.status === 'failed' ? c.red(r.status) : r.status === 'rollback' ? c.yellow(r.status) : c.green(r.status);
    lines.push(`  ${r.component}: ${st}${r.tag ? ` → tag ${r.tag}` : ' (unchanged, nothing recorded)'}${r.conflict ? c.yellow(` (ref ${r.conflict})`) : ''}`);
  }
  if (t.push) {
    const p = t.push;
    lines.push(
      p.ok
        ? `pushed to ${p.remote} (${p.pushed.length} refs${p.attempts > 1 ? `, after ${p.attempts} attempts` : ''})`
        : c.red(`push to ${p.remote} rejected: ${p.rejected.map((r) => `${r.ref} (${r.reason})`).join(', ')}`),
    );
    for (const s of p.superseded) lines.push(c.yellow(`  ${s.ref}: the remote has a newer deployment${s.remoteTag ? ` (${s.remoteTag})` : ''}; left as is`));
  }
  return `${lines.join('\n')}\n`;
}

/** A component's status from its steps: failed, unfinished, skipped, cached (all cached) or done. */
function componentStatus(statuses: string[]): string {
  for (const st of ['failed', 'unfinished']) if (statuses.includes(st)) return st;
  if (statuses.every((x) => x === 'skipped')) return 'skipped';
  if (statuses.every((x) => x === 'cached')) return 'cached';
  return 'done';
}

/**
 * A finished run as `--format json|yaml` prints it (README "Machine-readable output"): the
 * run, each component's status, steps and timings, plan changes, output names (never their
 * values), built artifacts, and for a rollout the release and its Git records.
 */
export function runValue(summary: RunSummary, events: readonly RunEvent[], tracked: RolloutSummary | undefined): Record<string, unknown> {
  const s = summarize(events);
  const recorded = new Map((tracked?.recorded ?? []).map((r) => [r.component, r]));
  const addresses = [...new Set([...s.steps.map((st) => st.component), ...Object.keys(summary.componentOutputs)])];
  const components = addresses.map((address) => {
    const steps = s.steps.filter((st) => st.component === address);
    const o = summary.componentOutputs[address] ?? {};
    const c: Record<string, unknown> = {
      address,
      status: steps.length ? componentStatus(steps.map((st) => st.status)) : 'done',
      duration_ms: steps.reduce((n, st) => n + (st.durationMs ?? 0), 0),
      steps: steps.map((st) => ({ id: st.id, status: st.status, duration_ms: st.durationMs ?? null, cached: st.status === 'cached', fingerprint: st.fingerprint ?? null })),
    };
    if (summary.pipeline === 'plan' && address.startsWith('terraform/')) {
      const unknown = Array.isArray(o.unknown) ? (o.unknown as { value: string; reason: string }[]) : [];
      c.changes = unknown.length ? null : { add: Number(o.add ?? 0), change: Number(o.change ?? 0), destroy: Number(o.destroy ?? 0) };
      if (unknown.length) c.unknown = unknown;
    } else if (address.startsWith('nixpack/')) {
      c.image = typeof o.image === 'string' ? o.image : null;
      c.pushed = Boolean(o.pushed);
    } else {
      c.outputs = Object.keys(o).sort();
      if (typeof o.digest === 'string') c.digest = o.digest;
    }
    // Git records name a Terraform component without its type (`vpc` for terraform/vpc).
    const r = address.startsWith('terraform/') ? recorded.get(address.slice('terraform/'.length)) : undefined;
    if (r) c.recorded = { status: r.status, tag: r.tag, ref_updated: r.refUpdated, ...(r.conflict ? { conflict: r.conflict } : {}) };
    return c;
  });
  const rel = tracked?.release;
  return {
    pipeline: summary.pipeline,
    deployment: summary.deployment,
    target: summary.target,
    run_id: summary.runId,
    status: summary.status,
    engine: summary.engine,
    started_at: s.started?.time ?? null,
    finished_at: s.finished?.time ?? null,
    duration_ms: summary.durationMs,
    counts: s.counts,
    release: rel
      ? {
          id: rel.id,
          tag: rel.tag,
          created: rel.created,
          commit: rel.record.git_sha,
          promoted_from: tracked?.decision?.promotedFrom ?? null,
          rollback_of: tracked?.decision?.rollbackOf ?? null,
          approved_by: tracked?.approvedBy ?? [],
        }
      : null,
    components,
    ...(tracked?.push ? { push: { remote: tracked.push.remote, ok: tracked.push.ok, pushed: tracked.push.pushed.length, rejected: tracked.push.rejected } } : {}),
  };
}
