/**
 * Renderers for what a pipeline command returns (`src/run/pipeline-run.ts`): a release
 * record, a dry run's steps, a finished run's tables and a rollout's Git records. Each takes
 * a result and colours and returns text; the commands decide where it goes.
 */
import type { ApproveResult } from '../../rollout/approve.js';
import type { ReleaseResult } from '../../release/create.js';
import type { RolloutPlan, RolloutSummary } from '../../rollout/index.js';
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
