/**
 * `atmos-pipe ui` (SPEC 12): a read-only web server on Node's http. Pages are rendered on the
 * server (./html.ts) from ./data.ts, which reads Git with the read commands' own functions and
 * keeps what it read until the Git directory changes (./watch.ts); the change is pushed to the
 * open pages as a server-sent event.
 *
 * Safety: only GET and HEAD; fixed routes (no file is served from disk, so no path reaches the
 * file system; `..` segments are refused outright); on loopback, the Host header must name the
 * loopback address (no DNS rebinding); on any other address every request needs the random
 * token (`?token=`, then a same-site cookie); a strict Content-Security-Policy.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CSS, JS } from './assets.js';
import type { UiData, UiDeployment } from './data.js';
import { diffBody, errorBody, gridBody, historyBody, layout, promotionBody, releaseBody, runsBody } from './html.js';
import { watchRepository, type Watcher } from './watch.js';

export interface UiServerOptions {
  data: UiData;
  host: string;
  /** 0: a free port. */
  port: number;
  /** Watched for ref changes (`git rev-parse --git-common-dir`); undefined: no live refresh. */
  gitDir?: string;
  /** Required on every request when set (a non-loopback host). */
  token?: string;
}

export interface UiServer {
  /** The URL to open (with the token when one is required). */
  url: string;
  port: number;
  close(): Promise<void>;
}

const HISTORY_PAGE = 50;
const RUNS_PAGE = 5;
const COOKIE = 'atmos_pipe_ui_token';

/** Whether `host` is a loopback address (the default, needing no token). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

function pageNumber(v: string | null): number {
  if (v === null || v === '') return 0;
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1) throw new HttpError(400, `page must be a positive number, not "${v}"`);
  return Number(v) - 1;
}

function labelFilter(v: string | null): [string, string] | undefined {
  if (v === null || v === '') return undefined;
  const i = v.indexOf('=');
  if (i <= 0) throw new HttpError(400, `label "${v}" must look like key=value (e.g. team=payments)`);
  return [v.slice(0, i), v.slice(i + 1)];
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

/** The default pair to compare: a target and its (first) promotion source. */
function defaultDiff(d: UiDeployment): [string, string] | undefined {
  const t = d.graph.targets.find((x) => x.from.length > 0);
  return t ? [t.from[0], t.name] : d.targets.length > 1 ? [d.targets[0], d.targets[1]] : undefined;
}

export async function startUi(opts: UiServerOptions): Promise<UiServer> {
  const { data } = opts;
  const clients = new Set<http.ServerResponse>();
  const deps = data.source.deployments;
  const labels = [...new Set(deps.flatMap((d) => Object.entries(d.labels).map(([k, v]) => `${k}=${v}`)))].sort();
  let port = opts.port;

  const broadcast = () => {
    data.invalidate();
    for (const c of clients) c.write(`event: change\ndata: ${JSON.stringify({ generation: data.generation })}\n\n`);
  };
  const watcher: Watcher | undefined = opts.gitDir ? watchRepository(opts.gitDir, data.source.runsDir, broadcast) : undefined;

  const deploymentOf = (name: string): UiDeployment => {
    const d = data.deployment(name);
    if (!d) throw new HttpError(404, `no deployment "${name}"`);
    return d;
  };
  const targetParam = (d: UiDeployment, q: URLSearchParams, key: string): string | undefined => {
    const v = q.get(key);
    if (v === null || v === '') return undefined;
    if (!d.targets.includes(v)) throw new HttpError(400, `${key} "${v}" is not a target of ${d.name} (${d.targets.join(', ')})`);
    return v;
  };

  /** A page (HTML) or its data (JSON, under /api/) for a path. */
  async function route(pathname: string, segments: string[], q: URLSearchParams): Promise<{ json: unknown } | { html: string }> {
    const now = Date.now();
    const api = pathname.startsWith('/api/');
    const p = api ? pathname.slice(4) : pathname;
    const page = (title: string, body: string, extra: Partial<Parameters<typeof layout>[0]> = {}) => ({
      html: layout({ title, nav: 'deployment', generation: data.generation, body, ...extra }, deps),
    });
    // Segments decoded once, from the raw path (an encoded `/` stays inside its segment).
    const parts = segments.slice(api ? 2 : 1);

    if (p === '/' || p === '/grid') {
      const label = labelFilter(q.get('label'));
      const grid = await data.grid(label);
      if (api)
        return {
          json: {
            generation: data.generation,
            targets: grid.targets,
            rows: grid.rows.map((r) => ({ deployment: r.deployment.name, labels: r.deployment.labels, cells: Object.fromEntries(r.cells) })),
          },
        };
      return page('What runs where', gridBody(grid, labels, q.get('label') ?? undefined, now), { nav: 'grid' });
    }
    if (p === '/runs') {
      const n = pageNumber(q.get('page'));
      const r = await data.runs(n, RUNS_PAGE);
      if (api) return { json: { generation: data.generation, page: n + 1, total: r.total, runs: r.runs } };
      return page('Run timeline', runsBody(r.runs, r.total, n, RUNS_PAGE), { nav: 'runs' });
    }
    if (parts[0] === 'd' && parts.length >= 2) {
      const d = deploymentOf(parts[1]);
      const sub = parts[2] ?? 'promotion';
      if (parts.length === 2 || (sub === 'promotion' && parts.length === 3)) {
        const [cur, edges] = await Promise.all([data.current(d), data.promotion(d)]);
        if (api) return { json: { deployment: d.name, graph: d.graph, current: Object.fromEntries(cur), edges } };
        return page(`Promotion graph: ${d.name}`, promotionBody(d, cur, edges, now), { deployment: d, sub: 'promotion' });
      }
      if (sub === 'history' && parts.length === 3) {
        const filter = { target: q.get('target') || undefined, component: q.get('component') || undefined };
        const hp = await data.history(d, filter, pageNumber(q.get('page')), HISTORY_PAGE);
        if (api) return { json: { deployment: d.name, ...hp, page: hp.page + 1 } };
        return page(`History: ${d.name}`, historyBody(d, hp, filter, now), { deployment: d, sub: 'history' });
      }
      if (sub === 'releases' && parts.length === 4) {
        const v = await data.release(d, parts[3]);
        if (!v) throw new HttpError(404, `no release "${parts[3]}" of ${d.name}`);
        if (api) return { json: v };
        return page(`Release ${v.entry.id}`, releaseBody(d, v), { deployment: d, sub: 'release' });
      }
      if (sub === 'diff' && parts.length === 3) {
        const def = defaultDiff(d);
        const from = targetParam(d, q, 'from') ?? def?.[0];
        const to = targetParam(d, q, 'to') ?? def?.[1];
        const diff = from && to ? await data.diff(d, from, to) : undefined;
        if (api) return { json: diff ?? null };
        return page(`Diff: ${d.name}`, diffBody(d, from, to, diff, now), { deployment: d, sub: 'diff' });
      }
    }
    throw new HttpError(404, `nothing at ${pathname}`);
  }

  const send = (req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const wantsJson = raw.startsWith('/api/');
    const fail = (status: number, message: string, headers: Record<string, string> = {}) =>
      wantsJson
        ? send(req, res, status, 'application/json; charset=utf-8', `${JSON.stringify({ error: message })}\n`, headers)
        : send(req, res, status, 'text/html; charset=utf-8', layout({ title: `${status}`, nav: 'grid', generation: data.generation, body: errorBody(message) }, deps), headers);

    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, `${req.method} is not allowed: the dashboard is read-only`, { allow: 'GET, HEAD' });
    // Host check first: a page on another site must not read this one through a rebound name.
    if (!opts.token) {
      const host = (req.headers.host ?? '').toLowerCase();
      const ok = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, opts.host.includes(':') ? `[${opts.host}]:${port}` : `${opts.host}:${port}`];
      if (!ok.includes(host)) return fail(403, 'forbidden host');
    }
    const qIndex = raw.indexOf('?');
    const rawPath = qIndex < 0 ? raw : raw.slice(0, qIndex);
    let pathname: string;
    let segments: string[];
    try {
      pathname = decodeURIComponent(rawPath);
      segments = rawPath.split('/').map(decodeURIComponent);
    } catch {
      return fail(400, 'bad path encoding');
    }
    const bad = (x: string) => x.includes('\0') || x.includes('\\') || x.split('/').some((s) => s === '..' || s === '.');
    if (!rawPath.startsWith('/') || bad(pathname) || segments.some(bad)) return fail(400, 'path refused');
    const url = new URL(raw, 'http://localhost');
    if (opts.token) {
      const fromQuery = url.searchParams.get('token') ?? undefined;
      if (!sameToken(fromQuery, opts.token) && !sameToken(cookieToken(req), opts.token)) return fail(403, 'a valid token is required (open the URL the command printed)');
      if (fromQuery !== undefined) res.setHeader('set-cookie', `${COOKIE}=${opts.token}; Path=/; HttpOnly; SameSite=Strict`);
      url.searchParams.delete('token');
    }

    if (rawPath === '/assets/app.css') return send(req, res, 200, 'text/css; charset=utf-8', CSS, { 'cache-control': 'no-cache' });
    if (rawPath === '/assets/app.js') return send(req, res, 200, 'text/javascript; charset=utf-8', JS, { 'cache-control': 'no-cache' });
    if (rawPath === '/favicon.ico') return send(req, res, 204, 'image/x-icon', '');
    if (rawPath === '/events') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      if (req.method === 'HEAD') return void res.end();
      res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ generation: data.generation })}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    try {
      const out = await route(pathname, segments, url.searchParams);
      if ('json' in out) send(req, res, 200, 'application/json; charset=utf-8', `${JSON.stringify(out.json, null, 2)}\n`);
      else send(req, res, 200, 'text/html; charset=utf-8', out.html);
    } catch (e) {
      if (e instanceof HttpError) return fail(e.status, e.message);
      fail(500, `reading the deployments failed: ${(e as Error).message}`);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end(String((e as Error)?.message ?? e));
    });
  });
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 20_000);
  heartbeat.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostPart}:${port}/${opts.token ? `?token=${opts.token}` : ''}`,
    port,
    close: async () => {
      clearInterval(heartbeat);
      watcher?.close();
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
