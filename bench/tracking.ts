/**
 * The `tracking` benchmark group: the read commands of Git tracking (SPEC 6) on a repository
 * with a long deployment history.
 *
 *   node dist/bench/run.js tracking
 *
 * The repository (a temp dir, removed at the end) has an `atmos.yaml`, one stack file, one
 * Terraform root module and 10 deployments `svc-00..svc-09`, each with 10 Terraform
 * components and the targets dev → staging → prod [approval]. Its Git state is written with
 * a constant number of git processes (never one per tag): the commits with one
 * `git fast-import` stream; the tag objects, which name the commits' ids, as one pack built
 * in-process and indexed by one `git index-pack --stdin`; the refs as the `packed-refs` file
 * (creating 10,000 loose refs — fast-import's or `update-ref --stdin`'s way — takes ~10 s of
 * kernel time here, and `git pack-refs` another ~5 s to fold them). It holds:
 *
 * - 100 commits on `main` (the first holds every file, the others change CHANGELOG.md);
 * - 10,000 history tags `atmos/deployments/<d>/<t>/<component>/<timestamp>`, annotated, whose
 *   messages are real DeploymentRecords (formatDeploymentRecord: release, image digests,
 *   deployer, status — about 3 % failed, 1 % rollback —, promotion source, approvals),
 *   spread round-robin over the 300 deployment refs (10 deployments × 3 targets × 10
 *   components), later tags on later commits;
 * - the 300 current-state refs `refs/atmos/deployments/<d>/<t>/<component>` on the commit of
 *   each one's newest successful deployment;
 * - 3 release tags per deployment (formatRelease, content-derived ids).
 *
 * Every ref is packed, as `git gc` / `git pack-refs --all` leave a real repository;
 * `git pack-refs --all` runs at the end (folding in refs/heads/main), then `git reset --hard`
 * checks the files out.
 *
 * Measured like every other figure (the whole CLI process, 1 warm-up + N runs, median):
 * `status svc-00` (goal < 250 ms) and `history svc-00 --limit 50` (goal < 300 ms); for
 * information `promotion-status svc-00` and `diff svc-00 --from-target dev --to-target staging`.
 * The number of git processes each library read starts is counted in-process with
 * `countingRunner` (it must not grow with the number of tags).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffTargets } from '../src/promotion/diff.js';
import { promotionGraph } from '../src/promotion/graph.js';
import { readPromotionStatus } from '../src/promotion/status.js';
import { formatRelease, releaseId, type ReleaseRecord } from '../src/release/index.js';
import {
  GitRepo,
  readHistory,
  readStatus,
  countingRunner,
  formatDeploymentRecord,
  historyTagName,
  deploymentRef,
  releaseTagName,
  type DeploymentRecord,
  type DeploymentStatus,
} from '../src/tracking/index.js';
import type { BenchContext, BenchGroup, Figure, Measurement, Sample } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLI = path.resolve(BENCH_DIR, '..', 'cli.mjs');

const DEPLOYMENTS = 10;
const TARGETS = ['dev', 'staging', 'prod'] as const;
const COMPONENTS = 10;
const HISTORY_TAGS = 10_000;
const COMMITS = 100;
const RELEASES_PER_DEPLOYMENT = 3;
const HISTORY_LIMIT = 50;
const MEASURED = 'svc-00';

const pad2 = (i: number) => String(i).padStart(2, '0');
const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const hex = (seed: string, len = 64) => createHash('sha256').update(seed).digest('hex').slice(0, len);

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------
// The repository

const deploymentName = (d: number) => `svc-${pad2(d)}`;
const componentName = (c: number) => `app/c${pad2(c)}`;

function repositoryFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', '', 'stacks:', '  base_path: stacks', ''].join('\n'),
    'stacks/tracking.yaml': ['# The only stack file of the tracking benchmark.', 'vars:', '  region: us-east-1', ''].join('\n'),
    'components/terraform/svc/main.tf': ['variable "name" {', '  type = string', '}', '', 'output "name" {', '  value = var.name', '}', ''].join('\n'),
    '.gitignore': '.atmos/\n',
    'CHANGELOG.md': '# Changelog\n',
  };
  for (let d = 0; d < DEPLOYMENTS; d++) {
    const name = deploymentName(d);
    const lines = [
      'deployment:',
      `  name: ${name}`,
      `  description: Service ${d} of the tracking benchmark`,
      '  stacks:',
      '    - tracking',
      '  context:',
      '    default_target: dev',
      '  components:',
      '    terraform:',
    ];
    for (let c = 0; c < COMPONENTS; c++) {
      lines.push(`      ${componentName(c)}:`, '        metadata:', '          component: svc', '        vars:', `          name: ${name}-c${pad2(c)}`);
    }
    lines.push(
      '  targets:',
      '    dev:',
      '      labels: { environment: dev }',
      '    staging:',
      '      promotion: { from: dev }',
      '    prod:',
      '      promotion: { from: staging, requires_approval: true }',
      '',
    );
    files[`deployments/${name}.yaml`] = lines.join('\n');
  }
  return files;
}

/** `data <n>` + the bytes, as fast-import reads it (the stream's next "\n" is the optional LF). */
function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}`;
}

/**
 * A Git pack (version 2) of whole objects, written in-process: "PACK", version, count, then
 * per object a type+size header and the zlib-deflated body, and the SHA-1 of it all.
 * `git index-pack --stdin` checks and indexes it (one process for any number of objects).
 */
class PackWriter {
  private readonly chunks: Buffer[] = [];
  private count = 0;

  /** Adds an object; returns its object id. */
  add(type: 'commit' | 'tree' | 'blob' | 'tag', body: string): string {
    const content = Buffer.from(body, 'utf8');
    const oid = createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
    const code = { commit: 1, tree: 2, blob: 3, tag: 4 }[type];
    let size = content.length;
    const head = [(code << 4) | (size & 0x0f)];
    size >>= 4;
    while (size > 0) {
      head[head.length - 1] |= 0x80;
      head.push(size & 0x7f);
      size >>= 7;
    }
    this.chunks.push(Buffer.from(head), deflateSync(content));
    this.count++;
    return oid;
  }

  finish(): Buffer {
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(this.count, 8);
    const body = Buffer.concat([header, ...this.chunks]);
    return Buffer.concat([body, createHash('sha1').update(body).digest()]);
  }
}

const BASE_EPOCH = Date.parse('2025-01-01T00:00:00.000Z');
const ident = (who: string, ms: number) => `${who} ${Math.floor(ms / 1000)} +0000`;

export interface Generated {
  dir: string;
  historyTags: number;
  refs: number;
  releases: number;
  commits: number;
  ms: number;
}

/** The repository and its whole Git state (module comment): five git processes to write it, four to count what it holds. */
export function generateTrackingRepo(dir: string): Generated {
  const t0 = process.hrtime.bigint();
  const out: string[] = [];
  const files = repositoryFiles();
  // Commits: one every 12 hours; commit i has mark :(i+1).
  const commitMs = (i: number) => BASE_EPOCH + i * 12 * 3600_000;
  for (let i = 0; i < COMMITS; i++) {
    out.push('commit refs/heads/main', `mark :${i + 1}`, `author ${ident('Dev Eloper <dev@example.invalid>', commitMs(i))}`, `committer ${ident('Dev Eloper <dev@example.invalid>', commitMs(i))}`);
    out.push(data(i === 0 ? 'synthetic repository with a long deployment history' : `change ${i}`));
    if (i > 0) out.push(`from :${i}`);
    if (i === 0) for (const [p, content] of Object.entries(files)) out.push(`M 644 inline ${p}`, data(content));
    else out.push('M 644 inline CHANGELOG.md', data(`${files['CHANGELOG.md']}\n- change ${i}\n`));
    out.push('');
  }
  // Records and releases name the commits by id, known once fast-import has written them
  // (its marks file maps mark -> id).
  const marks = path.join(dir, '.git', 'bench-marks');
  const git = (args: string[], input?: string | Buffer) => {
    const r = spawnSync('git', args, { cwd: dir, input, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`git ${args[0]} failed in ${dir}: ${(r.stderr || r.error?.message || '').trim()}`);
    return r.stdout;
  };
  git(['init', '-q', '-b', 'main']);
  git(['fast-import', '--quiet', `--export-marks=${marks}`], `${out.join('\n')}\n`);
  const shaOf = new Map<number, string>();
  for (const line of readFileSync(marks, 'utf8').split('\n')) {
    const m = /^:(\d+) ([0-9a-f]+)$/.exec(line.trim());
    if (m) shaOf.set(Number(m[1]) - 1, m[2]);
  }
  if (shaOf.size !== COMMITS) throw new Error(`fast-import exported ${shaOf.size} marks, expected ${COMMITS}`);

  const pack = new PackWriter();
  /** Full ref -> [object, peeled commit (annotated tags only)]. */
  const packed = new Map<string, [string, string | undefined]>();
  const addTag = (name: string, commit: number, tagger: string, message: string) => {
    const target = shaOf.get(commit)!;
    const oid = pack.add('tag', `object ${target}\ntype commit\ntag ${name}\ntagger ${tagger}\n\n${message}`);
    packed.set(`refs/tags/${name}`, [oid, target]);
  };
  const image = (d: number, commit: number) => `registry.example.com/${deploymentName(d)}/api@sha256:${hex(`img-${d}-${commit}`)}`;
  const releaseOf = (d: number, commit: number): ReleaseRecord => ({
    deployment: deploymentName(d),
    target: 'dev',
    git_sha: shaOf.get(commit)!,
    git_branch: 'main',
    images: { api: { ref: `registry.example.com/${deploymentName(d)}/api:${commit}`, digest: `sha256:${hex(`img-${d}-${commit}`)}` } },
    sboms: { api: `sha256:${hex(`sbom-${d}-${commit}`)}` },
    vendored: {},
    tools: { 'atmos-pipe': '0.1.0', terraform: '1.11.4' },
    annotations: {},
    created_at: new Date(commitMs(commit) + 600_000).toISOString(),
    created_by: 'ci@example.invalid',
  });
  const ids = new Map<string, string>();
  const releaseIdOf = (d: number, commit: number) => {
    const k = `${d}:${commit}`;
    if (!ids.has(k)) ids.set(k, releaseId(releaseOf(d, commit)));
    return ids.get(k)!;
  };
  // A few release tags per deployment: the newest commits.
  for (let d = 0; d < DEPLOYMENTS; d++) {
    for (let k = 0; k < RELEASES_PER_DEPLOYMENT; k++) {
      const commit = COMMITS - 1 - k;
      const r = releaseOf(d, commit);
      addTag(releaseTagName(r.deployment, releaseId(r)), commit, ident('CI <ci@example.invalid>', Date.parse(r.created_at)), formatRelease(r));
    }
  }
  // History: tag i goes to ref i % 300, on a commit that grows with i.
  const refsCount = DEPLOYMENTS * TARGETS.length * COMPONENTS;
  const people = ['alice@example.com', 'bob@example.com', 'ci@example.invalid', 'dana@example.com'];
  for (let i = 0; i < HISTORY_TAGS; i++) {
    const r = i % refsCount;
    const d = Math.floor(r / (TARGETS.length * COMPONENTS));
    const ti = Math.floor(r / COMPONENTS) % TARGETS.length;
    const c = r % COMPONENTS;
    const target = TARGETS[ti];
    // Later targets run older commits (promotion lags behind).
    const commit = Math.max(0, Math.min(COMMITS - 1, Math.floor((i * COMMITS) / HISTORY_TAGS) - ti * 3));
    const ms = BASE_EPOCH + 3600_000 + i * 431_000 + (i % 997);
    const status: DeploymentStatus = i % 97 === 13 ? 'rollback' : i % 31 === 7 ? 'failed' : 'success';
    const rec: DeploymentRecord = {
      deployment: deploymentName(d),
      target,
      component: componentName(c),
      release: releaseIdOf(d, commit),
      git_sha: shaOf.get(commit)!,
      images: { api: image(d, commit) },
      deployed_by: people[i % people.length],
      timestamp: new Date(ms).toISOString(),
      status,
      promoted_from: ti === 0 ? null : TARGETS[ti - 1],
      approved_by: target === 'prod' ? ['carol@example.com'] : [],
      rollback_of: status === 'rollback' ? `atmos/deployments/${deploymentName(d)}/${target}/${componentName(c)}/previous` : null,
      annotations: { pipeline: `https://ci.example.invalid/runs/${100000 + i}` },
    };
    addTag(historyTagName(rec.deployment, rec.target, rec.component, rec.timestamp), commit, ident('deployer <deployer@example.invalid>', ms), formatDeploymentRecord(rec));
    // The current-state ref: the newest deployment that did not fail.
    if (status !== 'failed') packed.set(deploymentRef(rec.deployment, rec.target, rec.component), [shaOf.get(commit)!, undefined]);
  }
  // The tag objects: one pack, indexed by ONE `git index-pack`; the refs: the packed-refs
  // file `git pack-refs --all` would write (the loose refs/heads/main joins it below).
  git(['index-pack', '--stdin'], pack.finish());
  const lines = ['# pack-refs with: peeled fully-peeled sorted '];
  for (const ref of [...packed.keys()].sort()) {
    const [oid, peeled] = packed.get(ref)!;
    lines.push(`${oid} ${ref}`);
    if (peeled) lines.push(`^${peeled}`);
  }
  writeFileSync(path.join(dir, '.git', 'packed-refs'), `${lines.join('\n')}\n`);
  rmSync(marks, { force: true });
  git(['pack-refs', '--all']);
  git(['reset', '-q', '--hard', 'main']);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const count = (prefix: string) => git(['for-each-ref', '--format=x', prefix]).split('\n').filter(Boolean).length;
  return {
    dir,
    historyTags: count('refs/tags/atmos/deployments/'),
    refs: count('refs/atmos/deployments/'),
    releases: count('refs/tags/atmos/releases/'),
    commits: Number(git(['rev-list', '--count', 'main']).trim()),
    ms,
  };
}

// ---------------------------------------------------------------------------
// The group

function wallFigure(m: Measurement, figure: string, goal: string, ok?: (ms: number) => boolean): Figure {
  if (!m.ok) return { figure, value: 'FAILED', goal, pass: ok ? false : undefined };
  return { figure, value: `${fmtMs(m.wallMedianMs)} (best ${fmtMs(m.wallBestMs)})`, goal, pass: ok ? ok(m.wallMedianMs) : undefined };
}

/** A table's data rows (the header is the first line). */
const tableRows = (s: Sample) => s.stdout.trimEnd().split('\n').length - 1;

export const trackingGroup: BenchGroup = {
  name: 'tracking',
  description: `status/history on ${HISTORY_TAGS.toLocaleString('en-US')} history tags over ${DEPLOYMENTS * TARGETS.length * COMPONENTS} deployment refs (packed)`,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-tracking-'));
    try {
      return await runGroup(ctx, root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

async function runGroup(ctx: BenchContext, dir: string): Promise<Figure[]> {
  const g = generateTrackingRepo(dir);
  const figures: Figure[] = [];
  ctx.note(
    `tracking: ${DEPLOYMENTS} deployments × ${TARGETS.length} targets × ${COMPONENTS} components; ${g.historyTags.toLocaleString('en-US')} history tags, ` +
      `${g.refs} deployment refs, ${g.releases} release tags, ${g.commits} commits, written (fast-import, one pack, packed refs) in ${fmtMs(g.ms)}; ` +
      `${MEASURED} has ${(g.historyTags / DEPLOYMENTS).toLocaleString('en-US')} of the tags`,
  );
  figures.push({
    figure: 'history tags / deployment refs in the repository',
    value: `${g.historyTags} / ${g.refs}`,
    goal: `= ${HISTORY_TAGS} / ${DEPLOYMENTS * TARGETS.length * COMPONENTS}`,
    pass: g.historyTags === HISTORY_TAGS && g.refs === DEPLOYMENTS * TARGETS.length * COMPONENTS,
  });

  // The floor: the same start-up and deployment loading, no Git read.
  const floor = await ctx.measure(`promotion-graph ${MEASURED} (no Git read)`, {
    args: [CLI, '--chdir', dir, 'promotion-graph', MEASURED],
    check: (s) => (s.stdout.includes('dev → staging → prod [approval]') ? undefined : 'did not print the promotion path'),
  });
  figures.push(wallFigure(floor, `baseline: promotion-graph ${MEASURED} (loads the deployment, no Git read)`, 'info'));

  const rows = TARGETS.length * COMPONENTS;
  const status = await ctx.measure(`status ${MEASURED}`, {
    args: [CLI, '--chdir', dir, 'status', MEASURED],
    check: (s) => (tableRows(s) === rows ? undefined : `printed ${tableRows(s)} rows, expected ${rows}\n${tail(s.stdout)}`),
  });
  figures.push(wallFigure(status, `status ${MEASURED}: wall time`, '< 250 ms', (ms) => ms < 250));

  const history = await ctx.measure(`history ${MEASURED} --limit ${HISTORY_LIMIT}`, {
    args: [CLI, '--chdir', dir, 'history', MEASURED, '--limit', String(HISTORY_LIMIT)],
    check: (s) => (tableRows(s) === HISTORY_LIMIT ? undefined : `printed ${tableRows(s)} rows, expected ${HISTORY_LIMIT}\n${tail(s.stdout)}`),
  });
  figures.push(wallFigure(history, `history ${MEASURED} --limit ${HISTORY_LIMIT}: wall time`, '< 300 ms', (ms) => ms < 300));

  const promo = await ctx.measure(`promotion-status ${MEASURED}`, {
    args: [CLI, '--chdir', dir, 'promotion-status', MEASURED, '--format', 'json'],
    check: (s) => {
      try {
        const n = (JSON.parse(s.stdout) as { edges: unknown[] }).edges.length;
        return n === 2 ? undefined : `printed ${n} edges, expected 2`;
      } catch {
        return 'did not print JSON';
      }
    },
  });
  figures.push(wallFigure(promo, `promotion-status ${MEASURED}: wall time`, 'info'));

  const diff = await ctx.measure(`diff ${MEASURED}`, {
    args: [CLI, '--chdir', dir, 'diff', MEASURED, '--from-target', 'dev', '--to-target', 'staging', '--format', 'json'],
    check: (s) => {
      try {
        const d = JSON.parse(s.stdout) as { commits_behind: number | null; components: unknown[] };
        return d.commits_behind !== null && d.components.length === COMPONENTS ? undefined : 'commits_behind is null or components are missing';
      } catch {
        return 'did not print JSON';
      }
    },
  });
  figures.push(wallFigure(diff, `diff ${MEASURED} --from-target dev --to-target staging: wall time`, 'info'));

  // The git processes behind each read, counted in-process (they must not depend on the tag count).
  const counter = countingRunner();
  const repo = new GitRepo(dir, { runner: counter });
  const counted = async (what: string, fn: () => Promise<unknown>, max: number) => {
    counter.reset();
    const t0 = process.hrtime.bigint();
    await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const n = counter.calls.length;
    figures.push({ figure: `${what}: git processes (in-process ${fmtMs(ms)})`, value: String(n), goal: `≤ ${max}`, pass: n <= max });
  };
  const names = Array.from({ length: DEPLOYMENTS }, (_, d) => deploymentName(d));
  await counted(`readStatus(${MEASURED})`, () => readStatus(repo, [MEASURED]), 1);
  await counted(`readStatus(all ${DEPLOYMENTS} deployments)`, () => readStatus(repo, names), 1);
  await counted(`readHistory(${MEASURED}, limit ${HISTORY_LIMIT})`, () => readHistory(repo, MEASURED, { limit: HISTORY_LIMIT }), 1);
  const { loadAtmosConfig } = await import('../src/config/atmos.js');
  const { findDeploymentFile, loadDeploymentFile } = await import('../src/config/deployment.js');
  const cfg = loadAtmosConfig({ cwd: dir });
  const graph = promotionGraph(loadDeploymentFile(cfg, findDeploymentFile(cfg, MEASURED).abs));
  await counted(`readPromotionStatus(${MEASURED})`, () => readPromotionStatus(repo, graph), 3);
  await counted(`diffTargets(${MEASURED}, dev, staging)`, () => diffTargets(repo, MEASURED, 'dev', 'staging', { configPaths: ['deployments', 'stacks', 'components/terraform'] }), 4);
  return figures;
}
