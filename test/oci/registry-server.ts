/**
 * Test helpers: a real OCI registry (Debian's `docker-registry`, the CNCF distribution
 * registry) on 127.0.0.1 with a free port, optionally behind htpasswd (Basic) or token
 * (Bearer) authentication, plus a small token server for the latter. Everything binds to the
 * loopback interface only; every helper returns a stop() that tests call in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../bench/postgres.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function haveRegistry(): boolean {
  return existsSync(REGISTRY_BIN);
}

/** A free TCP port on 127.0.0.1 (shared with the PostgreSQL helper of the tests and benchmarks). */
export { freePort };

export interface RunningRegistry {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port> (the `registry` of ImagePushOptions) */
  host: string;
  port: number;
  /** Temp dir holding config, storage and auth files. */
  dir: string;
  stop(): Promise<void>;
}

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate bundle the registry trusts for token signatures. */
  rootCertBundle: string;
}

export interface RegistryOptions {
  /** Basic authentication with this user (bcrypt htpasswd file). */
  htpasswd?: { username: string; password: string };
  /** Bearer token authentication (see startTokenServer). */
  token?: TokenAuthConfig;
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited early (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url}/v2/ within ${timeoutMs} ms: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start docker-registry on 127.0.0.1:<free port> with a temp storage dir. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.htpasswd) {
    const file = path.join(dir, 'htpasswd');
    writeFileSync(file, `${opts.htpasswd.username}:${bcrypt.hashSync(opts.htpasswd.password, 5)}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: atmos-pipe-test', `    path: ${JSON.stringify(file)}`);
  } else if (opts.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(opts.token.realm)}`,
      `    service: ${JSON.stringify(opts.token.service)}`,
      `    issuer: ${JSON.stringify(opts.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(opts.token.rootCertBundle)}`,
    );
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => err);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, host: `127.0.0.1:${port}`, port, dir, stop };
}

export interface TokenServer {
  /** Realm URL (http://127.0.0.1:<port>/token). */
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Token requests received, with the username used (never the password). */
  requests: { method: string; user?: string; scopes: string[]; grantType?: string }[];
  /** The refresh token that POST /token accepts (an "identitytoken"). */
  refreshToken: string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * A minimal Docker token server (the protocol of docker/distribution's token auth): GET
 * /token?service=&scope= with Basic credentials, or POST with grant_type=refresh_token,
 * answers a JWT (RS256, x5c = the self-signed certificate the registry trusts). Valid
 * credentials get the requested actions; anonymous requests get a token without access.
 */
export async function startTokenServer(users: Record<string, string>): Promise<TokenServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-tokens-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=atmos-pipe-test-token'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const key = readFileSync(keyFile, 'utf8');
  const certDer = readFileSync(certFile, 'utf8')
    .replace(/-----[^-]+-----/g, '')
    .replace(/\s+/g, '');
  const service = 'atmos-pipe-test-registry';
  const issuer = 'atmos-pipe-test-issuer';
  const refreshToken = randomBytes(16).toString('hex');
  const requests: TokenServer['requests'] = [];

  const sign = (scopes: string[], granted: boolean): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = granted
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
        })
      : [];
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: issuer, sub: 'test', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(key);
    return `${input}.${b64url(sig)}`;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (u.pathname !== '/token') {
        res.writeHead(404).end();
        return;
      }
      let user: string | undefined;
      let ok = false;
      let scopes: string[] = u.searchParams.getAll('scope');
      let grantType: string | undefined;
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        grantType = form.get('grant_type') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        ok = grantType === 'refresh_token' && form.get('refresh_token') === refreshToken;
        if (!ok) {
          requests.push({ method: 'POST', scopes, grantType });
          res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"invalid refresh token"}');
          return;
        }
      } else {
        const auth = req.headers.authorization;
        if (auth?.startsWith('Basic ')) {
          const dec = Buffer.from(auth.slice(6), 'base64').toString('utf8');
          const i = dec.indexOf(':');
          user = dec.slice(0, i);
          if (users[user] !== dec.slice(i + 1)) {
            requests.push({ method: 'GET', user, scopes });
            res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
            return;
          }
          ok = true;
        }
      }
      requests.push({ method: req.method ?? 'GET', user, scopes, grantType });
      const token = sign(scopes, ok);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    refreshToken,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LocationProxy {
  host: string;
  /** Locations rewritten to relative form. */
  rewritten: number;
  stop(): Promise<void>;
}

/**
 * A transparent HTTP proxy in front of a real registry that turns absolute `Location`
 * headers into relative ones (path + query), as some registries send them.
 */
export async function startRelativeLocationProxy(target: RunningRegistry): Promise<LocationProxy> {
  const state = { rewritten: 0 };
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (upRes) => {
      const headers = { ...upRes.headers };
      const loc = headers.location;
      if (typeof loc === 'string' && /^https?:\/\//.test(loc)) {
        const u = new URL(loc);
        headers.location = `${u.pathname}${u.search}`;
        state.rewritten++;
      }
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    get rewritten() {
      return state.rewritten;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A registry for the tests of the calling `describe` block: started before them, stopped after. */
export function registryForSuite(opts: RegistryOptions = {}): () => RunningRegistry {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry(opts);
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
  });
  return () => {
    if (!registry) throw new Error('the registry did not start');
    return registry;
  };
}
