import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleImage, createdFromEpoch, type BuiltOciImage } from '../../src/oci/image.js';
import { layerFromEntries } from '../../src/oci/layer.js';
import { clearTokenCache, isInsecureRegistry, loadRegistryCredentials, parseWwwAuthenticate, pushImage, RegistryError } from '../../src/oci/registry.js';
import { startRegistry, startRelativeLocationProxy, startTokenServer, type LocationProxy, type RunningRegistry, type TokenServer } from './registry-server.js';

const EPOCH = 1700000000;
const made: string[] = [];
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `atmos-pipe-oci-${prefix}-`));
  made.push(d);
  return d;
}
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/**
 * skopeo, run asynchronously: the token server lives in this process, so a blocking spawnSync
 * would deadlock a Bearer-auth registry waiting for it.
 */
function skopeo(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: tmp('skopeo-home') } }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr || String(err ?? '') }),
    );
  });
}

async function image(text: string): Promise<BuiltOciImage> {
  const base = await layerFromEntries([{ path: 'app/base.txt', type: 'file', mode: 0o644, content: Buffer.from('base\n') }], { epoch: EPOCH });
  const own = await layerFromEntries(
    [
      { path: 'app/own.txt', type: 'file', mode: 0o644, content: Buffer.from(text) },
      { path: 'app/run', type: 'file', mode: 0o755, content: Buffer.from('#!/bin/sh\ncat /app/own.txt\n') },
    ],
    { epoch: EPOCH },
  );
  return assembleImage({
    layers: [base, own],
    created: createdFromEpoch(EPOCH),
    entrypoint: ['/app/run'],
    cmd: ['--verbose'],
    env: { GREETING: text.trim(), PATH: '/usr/bin:/bin' },
    labels: { 'atmos.tools/component': 'web', 'org.opencontainers.image.title': 'web' },
    workingDir: '/app',
    exposedPorts: ['8080'],
    annotations: { 'org.opencontainers.image.revision': 'cafe' },
  });
}

/** A Docker config file with `auths[registry].auth = base64(user:pass)`. */
function dockerConfig(registry: string, user: string, pass: string, style: 'auth' | 'fields' = 'auth'): string {
  const file = path.join(tmp('docker-config'), 'config.json');
  const entry = style === 'auth' ? { auth: Buffer.from(`${user}:${pass}`).toString('base64') } : { username: user, password: pass };
  writeFileSync(file, JSON.stringify({ auths: { [registry]: entry } }));
  return file;
}
const NO_CONFIG = () => path.join(tmp('no-docker-config'), 'config.json');

describe('pushImage to a real registry (no auth)', () => {
  let reg: RunningRegistry;
  let img: BuiltOciImage;
  beforeAll(async () => {
    reg = await startRegistry();
    stops.push(reg.stop);
    img = await image('hello\n');
  });

  it('pushes blobs and manifest; skopeo sees digest, env, entrypoint and labels', async () => {
    const r = await pushImage(img, { registry: reg.host, repository: 'acme/web', tag: 'v1', dockerConfig: NO_CONFIG() });
    expect(r).toEqual({
      reference: `${reg.host}/acme/web@${img.manifestDigest}`,
      digest: img.manifestDigest,
      pushedBlobs: 3,
      skippedBlobs: 0,
    });
    const info = await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/acme/web:v1`]);
    expect(info.status, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout);
    expect(parsed.Digest).toBe(img.manifestDigest);
    expect(parsed.Env).toEqual(['GREETING=hello', 'PATH=/usr/bin:/bin']);
    expect(parsed.Labels).toEqual({ 'atmos.tools/component': 'web', 'org.opencontainers.image.title': 'web' });
    expect(parsed.Layers).toEqual(img.layers.map((l) => l.digest));
    const cfg = await skopeo(['inspect', '--tls-verify=false', '--config', `docker://${reg.host}/acme/web:v1`]);
    expect(cfg.status, cfg.stderr).toBe(0);
    const config = JSON.parse(cfg.stdout);
    expect(config.config.Entrypoint).toEqual(['/app/run']);
    expect(config.config.Cmd).toEqual(['--verbose']);
    expect(config.config.WorkingDir).toBe('/app');
    const raw = await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/acme/web:v1`]);
    expect(raw.stdout).toBe(img.manifest.toString());
  });

  it('skips every blob on a second push, and pushes by digest without a tag', async () => {
    const again = await pushImage(img, { registry: reg.host, repository: 'acme/web', tag: 'v1', dockerConfig: NO_CONFIG() });
    expect(again.pushedBlobs).toBe(0);
    expect(again.skippedBlobs).toBe(3);
    const byDigest = await pushImage(img, { registry: reg.host, repository: 'acme/web', dockerConfig: NO_CONFIG() });
    expect(byDigest).toMatchObject({ pushedBlobs: 0, skippedBlobs: 3, digest: img.manifestDigest });
    const info = await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/acme/web@${img.manifestDigest}`]);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toBe(img.manifest.toString());
  });

  it('pulls back byte-identical blobs with skopeo', async () => {
    const out = path.join(tmp('pull'), 'img');
    const copy = await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/acme/web:v1`, `dir:${out}`]);
    expect(copy.status, copy.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'manifest.json')).equals(img.manifest)).toBe(true);
    expect(readFileSync(path.join(out, img.configDigest.slice(7))).equals(img.config)).toBe(true);
    for (const l of img.layers) expect(readFileSync(path.join(out, l.digest.slice(7))).equals(l.blob)).toBe(true);
  });

  it('handles relative Location headers (keeping the upload state query)', async () => {
    const proxy: LocationProxy = await startRelativeLocationProxy(reg);
    stops.push(proxy.stop);
    const other = await image('through a proxy\n');
    const r = await pushImage(other, { registry: proxy.host, repository: 'acme/relative', tag: 'v1', dockerConfig: NO_CONFIG() });
    expect(r.pushedBlobs).toBe(3);
    expect(proxy.rewritten).toBeGreaterThanOrEqual(3); // at least every upload Location
    const info = await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/acme/relative:v1`]);
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).Digest).toBe(other.manifestDigest);
  });

  it('reports an unreachable registry with a hint', async () => {
    const err = await pushImage(img, { registry: '127.0.0.1:1', repository: 'acme/web', tag: 'v1', dockerConfig: NO_CONFIG() }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/push of acme\/web to 127\.0\.0\.1:1 failed/);
    expect(err.message).toMatch(/hint: is a registry listening at http:\/\/127\.0\.0\.1:1/);
  });

  it('rejects invalid names before any request', async () => {
    await expect(pushImage(img, { registry: reg.host, repository: 'Acme/Web' })).rejects.toThrow(/invalid repository/);
    await expect(pushImage(img, { registry: reg.host, repository: 'acme/web', tag: '-bad' })).rejects.toThrow(/invalid tag/);
    await expect(pushImage(img, { registry: `http://${reg.host}`, repository: 'acme/web' })).rejects.toThrow(/invalid registry/);
  });
});

describe('pushImage with htpasswd (Basic) auth', () => {
  let reg: RunningRegistry;
  let img: BuiltOciImage;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { username: 'alice', password: 's3cret-pw' } });
    stops.push(reg.stop);
    img = await image('private\n');
  });

  it('fails with 401 and a login hint without credentials', async () => {
    const cfg = NO_CONFIG();
    const err = await pushImage(img, { registry: reg.host, repository: 'team/app', tag: 'v1', dockerConfig: cfg }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(401);
    expect(err.message).toContain(`log in: credentials for ${reg.host} in ${cfg}`);
    expect(err.hint).toContain(`log in: credentials for ${reg.host} in ${cfg}`);
  });

  it('fails with 401 "rejected" for a wrong password, without leaking it', async () => {
    const cfg = dockerConfig(reg.host, 'alice', 'wrong-password');
    const err = await pushImage(img, { registry: reg.host, repository: 'team/app', tag: 'v1', dockerConfig: cfg }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/were rejected/);
    expect(err.message).not.toContain('wrong-password');
    expect(err.message).not.toContain(Buffer.from('alice:wrong-password').toString('base64'));
  });

  it('pushes with credentials from a Docker config file', async () => {
    const cfg = dockerConfig(reg.host, 'alice', 's3cret-pw');
    const r = await pushImage(img, { registry: reg.host, repository: 'team/app', tag: 'v1', dockerConfig: cfg });
    expect(r.pushedBlobs).toBe(3);
    const again = await pushImage(img, { registry: reg.host, repository: 'team/app', tag: 'v1', dockerConfig: dockerConfig(reg.host, 'alice', 's3cret-pw', 'fields') });
    expect(again).toMatchObject({ pushedBlobs: 0, skippedBlobs: 3 });
    const info = await skopeo(['inspect', '--tls-verify=false', '--authfile', cfg, `docker://${reg.host}/team/app:v1`]);
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).Digest).toBe(img.manifestDigest);
  });

  it('uses $DOCKER_CONFIG/config.json by default', async () => {
    const cfg = dockerConfig(reg.host, 'alice', 's3cret-pw');
    const old = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = path.dirname(cfg);
    try {
      const r = await pushImage(img, { registry: reg.host, repository: 'team/app', tag: 'v2' });
      expect(r.digest).toBe(img.manifestDigest);
    } finally {
      if (old === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = old;
    }
  });
});

describe('pushImage with token (Bearer) auth', () => {
  let tokens: TokenServer;
  let reg: RunningRegistry;
  let img: BuiltOciImage;
  beforeAll(async () => {
    tokens = await startTokenServer({ bob: 'b0b-pass' });
    stops.push(tokens.stop);
    reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.certFile } });
    stops.push(reg.stop);
    img = await image('bearer\n');
  });

  it('fails with 401 and a login hint when the anonymous token has no access', async () => {
    clearTokenCache();
    const cfg = NO_CONFIG();
    const err = await pushImage(img, { registry: reg.host, repository: 'team/tok', tag: 'v1', dockerConfig: cfg }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(401);
    expect(err.message).toContain(`log in: credentials for ${reg.host} in ${cfg}`);
  });

  it('fetches a token with basic credentials, retries, and caches it per scope', async () => {
    clearTokenCache();
    const cfg = dockerConfig(reg.host, 'bob', 'b0b-pass');
    const before = tokens.requests.length;
    const r = await pushImage(img, { registry: reg.host, repository: 'team/tok', tag: 'v1', dockerConfig: cfg });
    expect(r.pushedBlobs).toBe(3);
    const made = tokens.requests.slice(before);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ method: 'GET', user: 'bob' });
    expect(made[0].scopes).toContain('repository:team/tok:pull,push');
    // Second push: cached token, no new token request.
    const again = await pushImage(img, { registry: reg.host, repository: 'team/tok', tag: 'v1', dockerConfig: cfg });
    expect(again).toMatchObject({ pushedBlobs: 0, skippedBlobs: 3 });
    expect(tokens.requests.length).toBe(before + 1);
    // Another repository is another scope: one more token.
    await pushImage(img, { registry: reg.host, repository: 'team/other', tag: 'v1', dockerConfig: cfg });
    expect(tokens.requests.length).toBe(before + 2);
    const info = await skopeo(['inspect', '--tls-verify=false', '--creds', 'bob:b0b-pass', `docker://${reg.host}/team/tok:v1`]);
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout).Digest).toBe(img.manifestDigest);
  });

  it('reports rejected credentials from the token server', async () => {
    clearTokenCache();
    const err = await pushImage(img, { registry: reg.host, repository: 'team/tok', tag: 'v1', dockerConfig: dockerConfig(reg.host, 'bob', 'nope') }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/token request/);
    expect(err.message).toMatch(/were rejected/);
    expect(err.message).not.toContain('nope');
  });

  it('uses an identity token (OAuth2 refresh token) from the Docker config', async () => {
    clearTokenCache();
    const file = path.join(tmp('docker-config'), 'config.json');
    writeFileSync(file, JSON.stringify({ auths: { [reg.host]: { auth: '', identitytoken: tokens.refreshToken } } }));
    const before = tokens.requests.length;
    const r = await pushImage(img, { registry: reg.host, repository: 'team/idt', tag: 'v1', dockerConfig: file });
    expect(r.digest).toBe(img.manifestDigest);
    const made = tokens.requests.slice(before);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ method: 'POST', grantType: 'refresh_token' });
    expect(made[0].scopes).toContain('repository:team/idt:pull,push');
  });
});

describe('registry helpers', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseWwwAuthenticate(null)).toBeUndefined();
  });

  it('decides plain HTTP for loopback and listed registries', () => {
    expect(isInsecureRegistry('localhost:5000', {})).toBe(true);
    expect(isInsecureRegistry('127.0.0.1:5000', {})).toBe(true);
    expect(isInsecureRegistry('[::1]:5000', {})).toBe(true);
    expect(isInsecureRegistry('ghcr.io', {})).toBe(false);
    expect(isInsecureRegistry('reg.lan:5000', { ATMOS_PIPE_INSECURE_REGISTRIES: 'other, reg.lan:5000' })).toBe(true);
    expect(isInsecureRegistry('reg.lan:5000', { ATMOS_PIPE_INSECURE_REGISTRIES: 'reg.lan' })).toBe(true);
  });

  it('reads credentials from auths (auth or username/password, with or without scheme)', () => {
    const file = path.join(tmp('creds'), 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          'a.example': { auth: Buffer.from('u1:p:with:colons').toString('base64') },
          'https://b.example': { username: 'u2', password: 'p2' },
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
        },
      }),
    );
    expect(loadRegistryCredentials('a.example', file)).toMatchObject({ username: 'u1', password: 'p:with:colons' });
    expect(loadRegistryCredentials('b.example', file)).toMatchObject({ username: 'u2', password: 'p2' });
    expect(loadRegistryCredentials('docker.io', file)).toMatchObject({ username: 'hub', password: 'pw' });
    expect(loadRegistryCredentials('c.example', file)).toBeUndefined();
    expect(loadRegistryCredentials('a.example', path.join(tmp('none'), 'config.json'))).toBeUndefined();
    writeFileSync(file, '{ not json');
    expect(() => loadRegistryCredentials('a.example', file)).toThrow(RegistryError);
  });
});
