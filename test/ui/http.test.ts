/**
 * `atmos-pipe ui` over plain HTTP (the real CLI process on the bundled example after a dev
 * rollout): read-only (GET/HEAD only), fixed routes (path traversal refused), the token on a
 * non-loopback host, the Host check on loopback, and its JSON equal to the read commands'.
 */
import http from 'node:http';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleGitRepo, GIT_ENV, runCli } from '../helpers.js';
import { serveUi, type Served } from './serve.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let repo: string;
let loop: Served;
let open: Served;
let token: string;

beforeAll(async () => {
  repo = exampleGitRepo('atmos-pipe-ui-http-');
  const r = runCli(['--chdir', repo, 'rollout', 'payment-service', '--target', 'dev'], { env: { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' } });
  expect(r.code, r.stderr).toBe(0);
  // A run record of a failed step, as a killed or failing run leaves it, next to the real ones.
  const runs = path.join(repo, '.atmos/runs');
  mkdirSync(runs, { recursive: true });
  const t = '2099-01-01T00:00:00.000Z';
  writeFileSync(
    path.join(runs, '20990101T000000Z-fail01.json'),
    JSON.stringify({
      runId: '20990101T000000Z-fail01',
      deployment: 'payment-service',
      target: 'dev',
      pipeline: 'rollout',
      engine: 'local',
      status: 'failed',
      waves: { 'terraform/ecr/api': 0 },
      events: [
        { type: 'run.started', time: t, runId: '20990101T000000Z-fail01', deployment: 'payment-service', target: 'dev', pipeline: 'rollout', engine: 'local', components: 1, parallelism: 1 },
        {
          type: 'step.finished',
          time: '2099-01-01T00:00:01.000Z',
          id: 'rollout:terraform/ecr/api:apply',
          component: 'terraform/ecr/api',
          module: 'terraform.apply',
          status: 'failed',
          durationMs: 900,
          exitCode: 1,
          reason: 'exit code 1',
          logTail: ['Error: <boom> & bust'],
        },
      ],
    }),
  );
  writeFileSync(path.join(runs, '20990101T000001Z-broken.json'), '{ not json');
  // A link among the records, to a file that is not one: never followed, never shown.
  writeFileSync(path.join(repo, 'secret.txt'), 'SECRET-CONTENT');
  symlinkSync(path.join(repo, 'secret.txt'), path.join(runs, '20990101T000002Z-link.json'));
  writeFileSync(path.join(runs, '20990101T000003Z-text.json'), 'SECRET-TEXT is not a record');
  [loop, open] = await Promise.all([serveUi(repo), serveUi(repo, ['--host', '0.0.0.0'])]);
  token = new URL(open.url).searchParams.get('token') ?? '';
});

afterAll(async () => {
  expect(await loop?.stop()).toBe(0);
  expect(await open?.stop('SIGINT')).toBe(0);
});

const host = (s: Served) => ({ host: `127.0.0.1:${s.port}` });

describe('atmos-pipe ui over HTTP', () => {
  it('says why it cannot listen (exit 2), and refuses a bad port before anything', () => {
    const busy = runCli(['--chdir', repo, 'ui', '--port', String(loop.port)]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`error: cannot listen on 127.0.0.1:${loop.port}: EADDRINUSE`);
    expect(busy.stdout).toBe('');
    expect(runCli(['--chdir', repo, 'ui', '--port', '70000']).code).toBe(2);
  });

  it('prints a loopback URL without a token by default, and one with a token on another host', () => {
    expect(loop.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves the grid with the same data as status --format json', async () => {
    const page = await request(loop.port, '/', { headers: host(loop) });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const status = JSON.parse(runCli(['--chdir', repo, 'status', 'payment-service', '--format', 'json']).stdout) as { target: string; release: string; commit: string }[];
    const api = JSON.parse((await request(loop.port, '/api/grid', { headers: host(loop) })).body);
    const cell = api.rows.find((r: { deployment: string }) => r.deployment === 'payment-service').cells.dev;
    expect(cell.release).toBe(status[0].release);
    expect(cell.commit).toBe(status[0].commit);
    expect(cell.components.map((c: { component: string }) => c.component)).toEqual(status.filter((s) => s.target === 'dev').map((s) => (s as unknown as { component: string }).component));
    expect(page.body).toContain(`data-release="${status[0].release}"`);
  });

  it('refuses every method but GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await request(loop.port, '/', { method, headers: host(loop) });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await request(loop.port, '/', { method: 'HEAD', headers: host(loop) });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses path traversal and serves nothing from disk', async () => {
    for (const p of ['/assets/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/d/..%2f..%2f..%2fetc%2fpasswd', '/assets/..%5c..%5cpackage.json', '/d/payment-service/%00']) {
      const r = await request(loop.port, p, { headers: host(loop) });
      expect(r.status, p).toBe(400);
      expect(r.body).not.toContain('root:');
    }
    expect((await request(loop.port, '/package.json', { headers: host(loop) })).status).toBe(404);
    expect((await request(loop.port, '/d/%252e%252e/%252e%252e', { headers: host(loop) })).status).toBe(404);
    expect((await request(loop.port, '/d/%E0%A4%A', { headers: host(loop) })).status).toBe(400);
    expect((await request(loop.port, '/d/payment-service/releases/%3Cscript%3E', { headers: host(loop) })).body).not.toContain('<script>');
    expect((await request(loop.port, '/d/no-such-deployment', { headers: host(loop) })).status).toBe(404);
    expect((await request(loop.port, '/d/payment-service/history?page=abc', { headers: host(loop) })).status).toBe(400);
    expect((await request(loop.port, '/d/payment-service/diff?from=nope', { headers: host(loop) })).status).toBe(400);
  });

  it('on loopback, refuses a Host that is not the loopback address (DNS rebinding)', async () => {
    expect((await request(loop.port, '/', { headers: { host: `evil.example:${loop.port}` } })).status).toBe(403);
    expect((await request(loop.port, '/', { headers: { host: `localhost:${loop.port}` } })).status).toBe(200);
  });

  it('on another host, requires the token on every request (query, then cookie)', async () => {
    expect((await request(open.port, '/')).status).toBe(403);
    expect((await request(open.port, '/api/grid')).status).toBe(403);
    expect((await request(open.port, '/events')).status).toBe(403);
    expect((await request(open.port, '/?token=wrong')).status).toBe(403);
    expect((await request(open.port, `/?token=${token}x`)).status).toBe(403);
    const ok = await request(open.port, `/?token=${token}`);
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']).split(';')[0];
    expect(cookie).toBe(`atmos_pipe_ui_token=${token}`);
    expect((await request(open.port, '/d/payment-service/history', { headers: { cookie } })).status).toBe(200);
    expect((await request(open.port, '/d/payment-service/history', { headers: { cookie: 'atmos_pipe_ui_token=nope' } })).status).toBe(403);
  });

  it('shows a failed step with its log tail (escaped), and a damaged run record as such', async () => {
    const r = await request(loop.port, '/runs', { headers: host(loop) });
    expect(r.status).toBe(200);
    expect(r.body).toContain('Error: &#60;boom&#62; &#38; bust');
    expect(r.body).toContain('20990101T000001Z-broken.json');
    expect(r.body).toContain('cannot be read');
    expect(r.body).toContain('not a regular file');
    expect(r.body).not.toContain('SECRET');
    const api = JSON.parse((await request(loop.port, '/api/runs', { headers: host(loop) })).body);
    const failed = api.runs.find((x: { runId: string }) => x.runId === '20990101T000000Z-fail01');
    expect(failed.steps).toEqual([expect.objectContaining({ status: 'failed', wave: 0, durationMs: 900, logTail: ['Error: <boom> & bust'] })]);
  });
});
