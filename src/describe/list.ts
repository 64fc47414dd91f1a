/**
 * What `list` and its sub-lists show (the PRD's `list deployments`, `list targets <d>`,
 * `list components <d> --target t`, `list --verbose`): a deployment file's targets,
 * components and promotion rules joined with what Git records as deployed (status rows: the
 * deployment refs and the newest history tag of each component).
 */
import type { DeploymentConfig } from '../config/deployment.js';
import { promotionGraph } from '../promotion/graph.js';
import type { StatusEntry } from '../tracking/history.js';

/** The newest deployment recorded for a deployment (any target, any component). */
export interface LastDeploy {
  target: string;
  timestamp: string;
  status: string | null;
}

/** A row of `list` / `list deployments`. */
export interface DeploymentRow {
  name: string;
  description: string;
  file: string;
  labels: Record<string, string>;
  targets: string[];
  /** Addresses (`<type>/<name>`), every component type. */
  components: string[];
  last_deploy: LastDeploy | null;
}

/** A component's address and type, as the deployment file declares it (no resolution). */
export function declaredAddresses(dep: DeploymentConfig): { address: string; type: string; name: string }[] {
  const out: { address: string; type: string; name: string }[] = [];
  for (const [type, comps] of Object.entries((dep.body.components ?? {}) as Record<string, Record<string, unknown> | undefined>)) {
    for (const name of Object.keys(comps ?? {})) out.push({ address: `${type}/${name}`, type, name });
  }
  return out;
}

function newest(rows: StatusEntry[]): StatusEntry | undefined {
  return rows.filter((r) => r.timestamp).sort((a, b) => ((a.timestamp as string) < (b.timestamp as string) ? 1 : -1))[0];
}

export function deploymentRow(dep: DeploymentConfig, status: StatusEntry[]): DeploymentRow {
  const last = newest(status.filter((s) => s.deployment === dep.name));
  return {
    name: dep.name,
    description: dep.body.description ?? '',
    file: dep.file,
    labels: (dep.body.labels ?? {}) as Record<string, string>,
    targets: Object.keys(dep.body.targets),
    components: declaredAddresses(dep).map((c) => c.address),
    last_deploy: last ? { target: last.target, timestamp: last.timestamp as string, status: last.status } : null,
  };
}

/** A row of `list targets <d>`: the promotion rules and what was deployed last. */
export interface TargetRow {
  target: string;
  /** Targets it is promoted from; empty: an entry point. */
  promotion_from: string[];
  requires_approval: boolean;
  /** Newest deployment of any of its components (null: never deployed). */
  last_deploy: string | null;
  /** `failed` when a component's newest rollout failed, else the newest status; null: never deployed. */
  status: string | null;
  /** Components with a deployed commit, of those the file declares. */
  deployed: number;
  components: number;
}

export function targetRows(dep: DeploymentConfig, status: StatusEntry[]): TargetRow[] {
  const graph = promotionGraph(dep);
  const declared = new Set(declaredAddresses(dep).map((c) => c.name));
  return graph.targets.map((t) => {
    const rows = status.filter((s) => s.deployment === dep.name && s.target === t.name);
    const last = newest(rows);
    return {
      target: t.name,
      promotion_from: t.from,
      requires_approval: t.requires_approval,
      last_deploy: last?.timestamp ?? null,
      status: rows.some((r) => r.status === 'failed') ? 'failed' : (last?.status ?? null),
      deployed: rows.filter((r) => r.commit && declared.has(r.component)).length,
      components: declared.size,
    };
  });
}

/** A row of `list components <d> --target t`. */
export interface ComponentRow {
  component: string;
  type: string;
  /** The deployed commit (null: never deployed successfully). */
  commit: string | null;
  release: string | null;
  deployed: string | null;
  status: string | null;
  deployed_by: string | null;
}

export function componentRows(dep: DeploymentConfig, target: string, status: StatusEntry[]): ComponentRow[] {
  return declaredAddresses(dep).map((c) => {
    const s = status.find((r) => r.deployment === dep.name && r.target === target && r.component === c.name);
    return {
      component: c.address,
      type: c.type,
      commit: s?.commit ?? null,
      release: s?.release ?? null,
      deployed: s?.timestamp ?? null,
      status: s?.status ?? null,
      deployed_by: s?.deployed_by ?? null,
    };
  });
}
