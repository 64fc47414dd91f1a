/**
 * What the dashboard shows (SPEC 12), read with the same library functions as the read
 * commands — `status` (statusFromRefs), `history` (LazyHistory), `promotion-status`
 * (promotionStatusOf + the approvals notes), `releases` (releasesFromRefs), `diff`
 * (diffTargets) — and the run records under `<cache_dir>/runs/`. No second source of truth.
 *
 * Everything read is kept until the Git directory (or the run records) change: the watcher
 * (./watch.ts) calls `invalidate()`, so a page view never starts a git process when nothing
 * changed. Reads stay within a constant number of git processes whatever the number of tags,
 * and only the records shown are parsed (the history is paginated by tag name first).
 */
import { createHash } from 'node:crypto';
import { parseApprovals, type Approval } from '../promotion/approvals.js';
import { diffTargets, type TargetDiff } from '../promotion/diff.js';
import type { PromotionGraph } from '../promotion/graph.js';
import { commitsNeedingApproval, promotionStatusOf, type PromotionEdgeStatus } from '../promotion/status.js';
import { releasesFromRefs, releaseTagPrefix, type ReleaseEntry } from '../release/index.js';
import { deploymentRefPrefix, historyTagPrefix, LazyHistory, notesRef, statusFromRefs, type GitRepo, type HistoryEntry, type InvalidTag, type RefInfo, type StatusEntry } from '../tracking/index.js';
import { readNotesOf, readRefNames, readShownRefs, readTagMessages } from './refs.js';
import { readRuns, type RunView } from './runs.js';

/** A deployment as the dashboard knows it (loaded once, when the dashboard starts). */
export interface UiDeployment {
  name: string;
  description: string;
  labels: Record<string, string>;
  targets: string[];
  graph: PromotionGraph;
  /** Repository-relative paths whose changes `diff` lists (deployment file, atmos.yaml, stacks, components). */
  configPaths: string[];
}

export interface UiSource {
  git: GitRepo;
  /** `<cache_dir>/runs`: the run records. */
  runsDir: string;
  deployments: UiDeployment[];
}

export type CellStatus = 'success' | 'failed' | 'rollback' | 'never';

/** One cell of the grid: what a target of a deployment runs, over its components. */
export interface GridCell {
  deployment: string;
  target: string;
  /** The release every component runs; `mixed` when they differ; null when none is recorded. */
  release: string | null;
  /** The commit of the newest deployment. */
  commit: string | null;
  timestamp: string | null;
  deployed_by: string | null;
  /** failed when any component's last rollout failed, else rollback when any rolled back. */
  status: CellStatus;
  components: StatusEntry[];
  /** Promotions into this target that wait (a rollout or an approval). */
  incoming: PromotionEdgeStatus[];
}

export interface GridRow {
  deployment: UiDeployment;
  cells: Map<string, GridCell>;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  page: number;
  pageSize: number;
  /** Matching tags (counted by name, without parsing them). */
  total: number;
  targets: string[];
  components: string[];
}

export interface SbomSummary {
  digest: string;
  format: string;
  components: { name: string; version: string | null; type: string | null }[];
  licenses: string[];
}

export interface ReleaseView {
  entry: ReleaseEntry;
  sbom: SbomSummary | null;
}

const STATUS_ORDER: Record<string, number> = { failed: 3, rollback: 2, success: 1 };

/** The grid cell of one target out of its status rows (`status`'s data) and the pending promotions into it. */
function cellOf(deployment: string, target: string, rows: StatusEntry[], edges: PromotionEdgeStatus[]): GridCell {
  const withRecord = rows.filter((r) => r.timestamp !== null);
  const newest = withRecord.reduce<StatusEntry | undefined>((a, r) => (!a || r.timestamp! > a.timestamp! ? r : a), undefined);
  const releases = new Set(withRecord.map((r) => r.release));
  const worst = rows.reduce((s, r) => ((STATUS_ORDER[r.status ?? ''] ?? 0) > (STATUS_ORDER[s] ?? 0) ? (r.status as CellStatus) : s), 'never' as CellStatus);
  return {
    deployment,
    target,
    release: releases.size > 1 ? 'mixed' : (newest?.release ?? null),
    commit: newest ? newest.commit : (rows.find((r) => r.commit)?.commit ?? null),
    timestamp: newest?.timestamp ?? null,
    deployed_by: newest?.deployed_by ?? null,
    status: rows.length === 0 ? 'never' : worst,
    components: rows,
    incoming: edges.filter((e) => e.to === target && e.pending),
  };
}

/** A CycloneDX document's summary: its components and licences (the SBOM note of a release's commit). */
function summarizeCycloneDx(text: string): SbomSummary | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const d = doc as { bomFormat?: unknown; specVersion?: unknown; components?: unknown };
  const list = Array.isArray(d.components) ? d.components : [];
  const licenses = new Set<string>();
  const components = list.flatMap((c: unknown) => {
    if (!c || typeof c !== 'object') return [];
    const x = c as { name?: unknown; version?: unknown; type?: unknown; licenses?: unknown };
    for (const l of Array.isArray(x.licenses) ? x.licenses : []) {
      const id =
        (l as { license?: { id?: unknown; name?: unknown }; expression?: unknown })?.license?.id ??
        (l as { license?: { name?: unknown } })?.license?.name ??
        (l as { expression?: unknown })?.expression;
      if (typeof id === 'string') licenses.add(id);
    }
    return [{ name: String(x.name ?? '?'), version: typeof x.version === 'string' ? x.version : null, type: typeof x.type === 'string' ? x.type : null }];
  });
  return {
    digest: `sha256:${createHash('sha256').update(text).digest('hex')}`,
    format: `${String(d.bomFormat ?? 'unknown')} ${String(d.specVersion ?? '')}`.trim(),
    components,
    licenses: [...licenses].sort(),
  };
}

export class UiData {
  /** Bumped on every change of the Git directory or the run records. */
  generation = 0;
  private cache = new Map<string, Promise<unknown>>();
  /** Tags that did not parse, as the read commands warn about them. */
  readonly invalid: InvalidTag[] = [];

  constructor(readonly source: UiSource) {}

  deployment(name: string): UiDeployment | undefined {
    return this.source.deployments.find((d) => d.name === name);
  }

  /** Drop everything read: the next view reads Git again. */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
    this.invalid.length = 0;
  }

  private memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.cache.set(key, p);
      // A failed read is not kept: the next view tries again.
      p.catch(() => this.cache.get(key) === p && this.cache.delete(key));
    }
    return p;
  }

  /**
   * Current refs and history tags of every deployment — ONE `git for-each-ref` (what `status`
   * reads) — split by deployment once, so that each deployment's reads walk only its own refs.
   */
  private allRefs(): Promise<Map<string, RefInfo[]>> {
    const deps = this.source.deployments.map((d) => ({ name: d.name, prefixes: [deploymentRefPrefix(d.name), historyTagPrefix(d.name)] }));
    return this.memo('refs', async () => {
      const refs = deps.length
        ? await readShownRefs(
            this.source.git,
            deps.flatMap((d) => d.prefixes),
          )
        : [];
      const out = new Map<string, RefInfo[]>(deps.map((d) => [d.name, []]));
      for (const r of refs) {
        const d = deps.find((x) => x.prefixes.some((p) => r.ref.startsWith(p)));
        if (d) out.get(d.name)!.push(r);
      }
      return out;
    });
  }

  /** What the grid reads of one deployment (the same refs when the grid was read; else its own read). */
  private async shownRefs(d: string): Promise<RefInfo[]> {
    if (this.cache.has('refs')) return (await this.allRefs()).get(d) ?? [];
    return this.memo(`shown:${d}`, () => readShownRefs(this.source.git, [deploymentRefPrefix(d), historyTagPrefix(d)]));
  }

  /** Every history tag of one deployment, by name (messages read on demand) — ONE `git for-each-ref`. */
  private tagNames(d: string): Promise<RefInfo[]> {
    return this.memo(`names:${d}`, () => readRefNames(this.source.git, [historyTagPrefix(d)]));
  }

  private lazy(d: string, refs: RefInfo[]): LazyHistory {
    return new LazyHistory(refs, d, this.invalid);
  }

  /** Pending promotions of one deployment (`promotion-status`'s data). */
  async promotion(d: UiDeployment): Promise<PromotionEdgeStatus[]> {
    return (await this.promotions([d])).get(d.name) ?? [];
  }

  /**
   * Pending promotions of several deployments (`promotion-status`'s data: promotionStatusOf on
   * what each target runs and the approvals noted on the pending commits), their approvals
   * read together in one git process.
   */
  private promotions(deps: UiDeployment[]): Promise<Map<string, PromotionEdgeStatus[]>> {
    return this.memo(`promotions:${deps.map((d) => d.name).join(',')}`, async () => {
      const withEdges = deps.filter((d) => d.graph.edges.length > 0);
      const cur = new Map(await Promise.all(withEdges.map(async (d) => [d.name, this.lazy(d.name, await this.shownRefs(d.name)).currentByTarget(d.graph.targets.map((t) => t.name))] as const)));
      const wanted = withEdges.flatMap((d) => commitsNeedingApproval(d.graph, cur.get(d.name)!).map((commit) => ({ deployment: d.name, commit })));
      const notes = await readNotesOf(this.source.git, 'approvals', wanted);
      const out = new Map<string, PromotionEdgeStatus[]>(deps.map((d) => [d.name, []]));
      for (const d of withEdges) {
        const approvals = new Map<string, Approval[]>();
        for (const w of wanted) {
          const note = w.deployment === d.name ? notes.get(`${d.name}\0${w.commit}`) : undefined;
          if (note !== undefined) approvals.set(w.commit, parseApprovals(note));
        }
        out.set(d.name, promotionStatusOf(d.graph, cur.get(d.name)!, approvals).edges);
      }
      return out;
    });
  }

  /** Every deployment × target (optionally only the deployments with a label `k=v`). */
  grid(label?: [string, string]): Promise<{ targets: string[]; rows: GridRow[] }> {
    return this.memo(`grid:${label ? `${label[0]}=${label[1]}` : ''}`, async () => {
      const deps = this.source.deployments.filter((d) => !label || d.labels[label[0]] === label[1]);
      const refs = await this.allRefs();
      const targets: string[] = [];
      for (const d of deps) for (const t of d.targets) if (!targets.includes(t)) targets.push(t);
      const promotions = await this.promotions(deps);
      const rows = await Promise.all(
        deps.map(async (d): Promise<GridRow> => {
          const status = statusFromRefs(refs.get(d.name) ?? [], d.name, undefined, this.invalid);
          const edges = promotions.get(d.name) ?? [];
          const cells = new Map<string, GridCell>();
          for (const t of d.targets)
            cells.set(
              t,
              cellOf(
                d.name,
                t,
                status.filter((r) => r.target === t),
                edges,
              ),
            );
          return { deployment: d, cells };
        }),
      );
      return { targets, rows };
    });
  }

  /** One page of a deployment's history (`history`'s data), newest first; only the shown records are parsed. */
  async history(d: UiDeployment, filter: { target?: string; component?: string }, page: number, pageSize: number): Promise<HistoryPage> {
    const lazy = this.lazy(d.name, await this.tagNames(d.name));
    const match = (t: { target: string; component: string }) => (filter.target === undefined || t.target === filter.target) && (filter.component === undefined || t.component === filter.component);
    const matching = lazy.tags.filter(match);
    const total = matching.length;
    // The page's tags by name, then their messages (one `git cat-file --batch`), then their records.
    const shown = matching.slice(page * pageSize, (page + 1) * pageSize);
    await readTagMessages(
      this.source.git,
      shown.map((t) => t.info),
    );
    const entries = shown.map((t) => lazy.entry(t)).filter((e): e is HistoryEntry => e !== undefined);
    return {
      entries,
      page,
      pageSize,
      total,
      targets: [...new Set([...d.targets, ...lazy.tags.map((t) => t.target)])],
      components: [...new Set(lazy.tags.map((t) => t.component))].sort(),
    };
  }

  /** What each target runs (`promotion-graph --show-status`'s data). */
  async current(d: UiDeployment): Promise<Map<string, HistoryEntry>> {
    return this.lazy(d.name, await this.shownRefs(d.name)).currentByTarget(d.targets);
  }

  /** A release record, and the summary of the SBOM noted on its commit. */
  async release(d: UiDeployment, id: string): Promise<ReleaseView | undefined> {
    return this.memo(`release:${d.name}:${id}`, async () => {
      const entry = releasesFromRefs(await this.source.git.readRefs(releaseTagPrefix(d.name)), d.name, this.invalid).find((r) => r.id === id);
      if (!entry) return undefined;
      const note = (await this.source.git.readNotes(notesRef(d.name, 'sbom'), [entry.record.git_sha])).get(entry.record.git_sha);
      return { entry, sbom: note === undefined ? null : summarizeCycloneDx(note) };
    });
  }

  /** `diff d --from-target a --to-target b`'s data. */
  diff(d: UiDeployment, from: string, to: string): Promise<TargetDiff> {
    return this.memo(`diff:${d.name}:${from}:${to}`, () => diffTargets(this.source.git, d.name, from, to, { configPaths: d.configPaths, logLimit: 50, invalid: this.invalid }));
  }

  /** The newest run records (page `page` of `pageSize`). */
  runs(page: number, pageSize: number): Promise<{ runs: RunView[]; total: number }> {
    return this.memo(`runs:${page}:${pageSize}`, async () => readRuns(this.source.runsDir, page, pageSize));
  }
}
