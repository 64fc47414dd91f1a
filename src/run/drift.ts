/**
 * `status --check-drift`: what the drift pipeline's plans (`terraform plan
 * -detailed-exitcode`, one per Terraform component, cached by the digest of the state they
 * read) say about each component, joined with what Git records as deployed there.
 *
 * What is compared: the working tree's configuration against each component's current state.
 * A component deployed from another commit than the working tree's may show a change that is
 * not yet rolled out rather than drift; {@link DriftReport.notes} says so per component.
 */
import type { StatusEntry } from '../tracking/history.js';
import type { RunSummary } from './index.js';

/**
 * One component's finding: no change, a change (drift), a change of a component Git records
 * no deployment of (`not-deployed`: a first rollout, not drift), not planned (unknown inputs)
 * or a failed plan.
 */
export type DriftState = 'none' | 'detected' | 'not-deployed' | 'unknown' | 'error';

export interface DriftEntry {
  component: string;
  drift: DriftState;
  /** Resources the plan would add, change and destroy (0 when not planned). */
  add: number;
  change: number;
  destroy: number;
  /** What Git records as deployed (null: never deployed successfully). */
  deployed_commit: string | null;
  release: string | null;
  /** Why the component was not checked (unknown inputs, a failed plan). */
  reason?: string;
  /** The plan step was a cache hit: same configuration and same state digest as a plan made before. */
  cached: boolean;
}

export interface DriftReport {
  deployment: string;
  target: string;
  /** The commit whose working tree was planned (null outside Git). */
  compared_commit: string | null;
  components: DriftEntry[];
  /** Whether any component drifted. */
  drift: boolean;
  /** Said with the table: components whose deployed commit is not the one planned. */
  notes: string[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The drift report of a finished drift run, joined with the target's status rows. */
export function driftReport(summary: RunSummary, status: StatusEntry[], comparedCommit: string | null): DriftReport {
  const terraform = summary.resolved.components.filter((c) => c.type === 'terraform');
  const components: DriftEntry[] = terraform.map(({ address, name }) => {
    const out = summary.componentOutputs[address];
    const steps = summary.results.filter((r) => r.component === address);
    const failed = steps.find((r) => r.status === 'failed' || r.status === 'skipped');
    const plan = steps.find((r) => r.module === 'terraform.drift');
    const st = status.find((s) => s.component === name);
    const base = { component: address, deployed_commit: st?.commit ?? null, release: st?.release ?? null, cached: plan?.status === 'cached' };
    const unknown = Array.isArray(out?.unknown) ? (out.unknown as { value: string; reason: string }[]) : [];
    if (unknown.length) {
      return { ...base, drift: 'unknown', add: 0, change: 0, destroy: 0, reason: `not planned: ${unknown.map((u) => `{{ ${u.value} }} is unknown (${u.reason})`).join('; ')}` };
    }
    if (failed || !out || typeof out.drift !== 'boolean') {
      return { ...base, drift: 'error', add: 0, change: 0, destroy: 0, reason: failed?.reason ?? 'the plan did not finish' };
    }
    const drift: DriftState = !out.drift ? 'none' : base.deployed_commit === null ? 'not-deployed' : 'detected';
    return { ...base, drift, add: num(out.add), change: num(out.change), destroy: num(out.destroy) };
  });
  const notes: string[] = [];
  for (const c of components) {
    if (comparedCommit === null) continue;
    if (c.drift === 'not-deployed') notes.push(`${c.component}: never deployed to ${summary.target} (no record in Git); its plan is a first rollout, not drift`);
    else if (c.deployed_commit !== null && c.deployed_commit !== comparedCommit && c.drift === 'detected')
      notes.push(
        `${c.component}: deployed from commit ${c.deployed_commit.slice(0, 12)}, the working tree is at ${comparedCommit.slice(0, 12)}: its change may be one not yet rolled out rather than drift`,
      );
  }
  return { deployment: summary.deployment, target: summary.target, compared_commit: comparedCommit, components, drift: components.some((c) => c.drift === 'detected'), notes };
}
