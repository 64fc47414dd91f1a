/**
 * The `ui` benchmark group: the dashboard's first page loads on the `tracking` group's
 * repository (10,000 history tags over 300 deployment refs, packed; bench/tracking.ts).
 *
 *   node dist/bench/run.js ui
 *
 * The server (src/ui/server.ts) runs in this process on 127.0.0.1; the deployment files are
 * loaded once before, as `atmos-pipe ui` does when it starts. Each measured request starts
 * cold — everything read from Git dropped, as after a change of the refs — and its server
 * time is the time to the response's last byte: the grid page (every deployment × target,
 * one `git for-each-ref` over all the tags) and a deployment's history page (the newest 50,
 * the only records parsed). The same pages served from what was read (no change since) are
 * reported for information.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRepository } from '../src/repository.js';
import { GitRepo } from '../src/tracking/index.js';
import { UiData } from '../src/ui/data.js';
import { uiDeployments } from '../src/ui/deployments.js';
import { startUi } from '../src/ui/server.js';
import { generateTrackingRepo } from './tracking.js';
import type { BenchContext, BenchGroup, Figure } from './types.js';

const GOAL_MS = 300;

function get(port: number, p: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers: { host: `127.0.0.1:${port}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);

export const uiGroup: BenchGroup = {
  name: 'ui',
  description: 'dashboard: server time of the first grid and history page loads on 10,000 history tags over 300 refs',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-ui-'));
    try {
      const g = generateTrackingRepo(root);
      const repo = openRepository({ cwd: root });
      const t0 = process.hrtime.bigint();
      const deployments = uiDeployments(repo);
      const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const data = new UiData({ git: new GitRepo(root), runsDir: path.join(repo.config.cacheDir, 'runs'), deployments });
      const server = await startUi({ data, host: '127.0.0.1', port: 0 });
      ctx.note(`ui: ${g.historyTags.toLocaleString('en-US')} history tags, ${g.refs} deployment refs, ${deployments.length} deployments (loaded at start in ${fmt(loadMs)})`);
      try {
        const figures: Figure[] = [];
        const measure = async (label: string, p: string, cold: boolean, check: (body: string) => string | undefined): Promise<Figure> => {
          const times: number[] = [];
          // One warm-up, then N runs.
          for (let i = 0; i <= ctx.runs; i++) {
            if (cold) data.invalidate();
            const r = await get(server.port, p);
            const problem = r.status !== 200 ? `HTTP ${r.status}` : check(r.body);
            if (problem) return { figure: label, value: `FAILED: ${problem}`, goal: cold ? `< ${GOAL_MS} ms` : 'info', pass: false };
            if (i > 0) times.push(r.ms);
          }
          const m = median(times);
          return { figure: label, value: fmt(m), goal: cold ? `< ${GOAL_MS} ms` : 'info', ...(cold ? { pass: m < GOAL_MS } : {}) };
        };
        const rows = (body: string) => (body.match(/<th scope="row">/g) ?? []).length;
        const gridOk = (body: string) => (rows(body) === deployments.length ? undefined : `grid has ${rows(body)} rows, expected ${deployments.length}`);
        const histRows = (body: string) => (body.match(/<tr class="s-/g) ?? []).length;
        const histOk = (body: string) => (histRows(body) === 50 ? undefined : `history page has ${histRows(body)} rows, expected 50`);
        figures.push(await measure('grid page, first load (server time)', '/', true, gridOk));
        figures.push(await measure('history page svc-00, first load (server time)', '/d/svc-00/history', true, histOk));
        figures.push(await measure('history page svc-00, page 20, first load (server time)', '/d/svc-00/history?page=20', true, histOk));
        figures.push(await measure('grid page, unchanged refs (served from what was read)', '/', false, gridOk));
        figures.push(await measure('history page svc-00, unchanged refs', '/d/svc-00/history', false, histOk));
        figures.push({ figure: 'load average (1 min) of the machine after the group', value: os.loadavg()[0].toFixed(1), goal: 'info' });
        return figures;
      } finally {
        await server.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
