/**
 * Push an image through the OCI distribution API (SPEC 5.1 item 5): for every blob
 * `HEAD /v2/<name>/blobs/<digest>` (present ⇒ skipped), else `POST /v2/<name>/blobs/uploads/`
 * and a monolithic `PUT <Location>&digest=<digest>`; then `PUT /v2/<name>/manifests/<ref>`,
 * checking the `Docker-Content-Digest` answer against our digest.
 *
 * Credentials come from the Docker config file (`auths[<registry>]` with `auth` =
 * base64(user:pass), or `username`/`password`, or `identitytoken`; `credHelpers`/`credsStore`
 * through `docker-credential-<helper> get`). A 401 challenge `Basic` is answered with basic
 * credentials; `Bearer realm=…,service=…,scope=…` with a token fetched from the realm (with the
 * basic credentials when there are any), cached per registry, scope and user until it
 * expires. Nothing here logs, and no error message carries a secret or a URL query.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../diagnostics/environment.js';
import { parseDuration } from '../output/format.js';
import { sha256Digest } from './digest.js';
import type { BuiltOciImage } from './image.js';

export interface ImagePushOptions {
  /** host[:port], e.g. `ghcr.io` or `127.0.0.1:5000`. */
  registry: string;
  /** Repository name, e.g. `acme/web`. */
  repository: string;
  /** Tag to push the manifest under; without it the manifest is pushed by digest only. */
  tag?: string;
  /** Docker config file; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfig?: string;
  /**
   * Plain HTTP. Default: true for localhost / 127.0.0.1 / ::1 or when the registry is listed in
   * env ATMOS_PIPE_INSECURE_REGISTRIES (comma separated), else false (HTTPS).
   */
  insecure?: boolean;
  /** fetch implementation (default: the global fetch of Node 20). */
  fetch?: typeof fetch;
  /**
   * Seconds one registry request (sending, answer and body) may take before the push gives
   * up (atmos.yaml `deployments.registry.timeout`); env ATMOS_PIPE_REGISTRY_TIMEOUT (30, 30s,
   * 5m) overrides it; default 300. A registry that accepts the connection and never answers
   * fails instead of hanging the run.
   */
  timeoutSeconds?: number;
}

const DEFAULT_REGISTRY_TIMEOUT_SECONDS = 300;

/** The registry request timeout: ATMOS_PIPE_REGISTRY_TIMEOUT, else the configured one, else the default. */
export function registryTimeoutSeconds(configured: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = parseDuration(env.ATMOS_PIPE_REGISTRY_TIMEOUT ?? '');
  if (fromEnv !== undefined && fromEnv > 0) return fromEnv;
  return configured !== undefined && configured > 0 ? configured : DEFAULT_REGISTRY_TIMEOUT_SECONDS;
}

export interface ImagePushResult {
  /** `registry/repository@sha256:...` */
  reference: string;
  digest: string;
  pushedBlobs: number;
  skippedBlobs: number;
}

/** A failed registry operation: what failed, the HTTP status when there was one, and a hint. */
export class RegistryError extends Error {
  /** HTTP status of the failing answer (absent for network or local errors). */
  readonly status?: number;
  /** First OCI error code of the answer body, e.g. `UNAUTHORIZED`, `BLOB_UPLOAD_INVALID`. */
  readonly code?: string;
  /** How to fix it (also part of `message`). */
  readonly hint?: string;
  readonly registry: string;
  readonly repository: string;
  /** A network failure or timeout (no answer) is the environment; an answer of the registry is reported as is. */
  toEnvironmentError(): EnvironmentError | undefined {
    if (this.status !== undefined || this.cause === undefined) return undefined;
    const [what, ...rest] = this.message.split('\n')[0].split(' failed: ');
    return new EnvironmentError(what, this.registry, rest.join(' failed: '), this.hint ?? `is a registry listening at ${this.registry}?`, { cause: this });
  }
  constructor(opts: { message: string; registry: string; repository: string; status?: number; code?: string; hint?: string; cause?: unknown }) {
    super(opts.hint ? `${opts.message}\n  hint: ${opts.hint}` : opts.message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'RegistryError';
    this.status = opts.status;
    this.code = opts.code;
    this.hint = opts.hint;
    this.registry = opts.registry;
    this.repository = opts.repository;
  }
}

/** Credentials for one registry. `password` is absent when only an identity token exists. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken` in the Docker config). */
  identityToken?: string;
  /** Where they came from, for messages (never the secret): e.g. `auths in /root/.docker/config.json`. */
  source: string;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The Docker config file used: explicit path, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
function dockerConfigPath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.DOCKER_CONFIG) return path.join(process.env.DOCKER_CONFIG, 'config.json');
  return path.join(homedir(), '.docker', 'config.json');
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Keys under which a Docker config may list a registry. */
function configKeys(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (DOCKER_HUB.has(registry)) keys.push('https://index.docker.io/v1/', 'index.docker.io', 'docker.io');
  return keys;
}

/** The host part of `host[:port]` (IPv6 with or without brackets). */
function registryHost(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  if ((registry.match(/:/g) ?? []).length > 1) return registry; // bare IPv6
  return registry.split(':')[0];
}

/** Whether a registry is spoken to over plain HTTP by default. */
export function isInsecureRegistry(registry: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const host = registryHost(registry).toLowerCase();
  if (host === 'localhost' || host === '127.0.0.1' || host === '::1') return true;
  const listed = (env.ATMOS_PIPE_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return listed.includes(registry.toLowerCase()) || listed.includes(host);
}

/** Base URL of the registry API. */
function apiBase(registry: string, insecure: boolean): string {
  let host = DOCKER_HUB.has(registry) ? 'registry-1.docker.io' : registry;
  if (!host.startsWith('[') && (host.match(/:/g) ?? []).length > 1) host = `[${host}]`;
  return `${insecure ? 'http' : 'https'}://${host}`;
}

function credentialHelper(helper: string, registry: string, source: string): RegistryCredentials | undefined {
  for (const serverUrl of [registry, `https://${registry}`]) {
    const r = spawnSync(`docker-credential-${helper}`, ['get'], { input: serverUrl, encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) continue; // helper missing, or no credentials for this URL
    try {
      const out = JSON.parse(r.stdout) as { Username?: string; Secret?: string };
      if (!out.Secret) continue;
      if (out.Username === '<token>') return { identityToken: out.Secret, source };
      return { username: out.Username, password: out.Secret, source };
    } catch {
      // a helper that prints no JSON has no credentials for this URL: try the next one
    }
  }
  return undefined;
}

/** Credentials for `registry` from a Docker config file (undefined when it has none). */
export function loadRegistryCredentials(registry: string, configFile: string): RegistryCredentials | undefined {
  if (!existsSync(configFile)) return undefined;
  let cfg: DockerConfigFile;
  try {
    cfg = JSON.parse(readFileSync(configFile, 'utf8')) as DockerConfigFile;
  } catch (e) {
    throw new RegistryError({
      message: `cannot read the Docker config ${configFile}: ${(e as Error).message}`,
      registry,
      repository: '',
      hint: 'fix or remove the file (it must be JSON like {"auths":{"<registry>":{"auth":"<base64 user:pass>"}}})',
    });
  }
  const keys = configKeys(registry);
  const helper = keys.map((k) => cfg.credHelpers?.[k]).find(Boolean);
  if (helper) {
    const c = credentialHelper(helper, registry, `docker-credential-${helper} (credHelpers in ${configFile})`);
    if (c) return c;
  }
  for (const k of keys) {
    const a = cfg.auths?.[k];
    if (!a) continue;
    const source = `auths["${k}"] in ${configFile}`;
    if (a.identitytoken) return { identityToken: a.identitytoken, source };
    if (a.auth) {
      const dec = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i > 0) return { username: dec.slice(0, i), password: dec.slice(i + 1), source };
    }
    if (a.username && a.password !== undefined) return { username: a.username, password: a.password, source };
  }
  if (cfg.credsStore) return credentialHelper(cfg.credsStore, registry, `docker-credential-${cfg.credsStore} (credsStore in ${configFile})`);
  return undefined;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse the first challenge of a `WWW-Authenticate` header. */
export function parseWwwAuthenticate(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

interface CachedToken {
  token: string;
  expires: number;
}
/** Bearer tokens per (API base, user, scope). */
const tokenCache = new Map<string, CachedToken>();

/** Forget cached bearer tokens (tests, or after a credentials change). */
export function clearTokenCache(): void {
  tokenCache.clear();
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Whether a string is a valid repository name of the distribution API (`acme/web`). */
export function isRepositoryName(s: string): boolean {
  return REPOSITORY.test(s);
}

/** Path + query-less form of a URL, for messages (Location URLs carry upload state). */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname;
  } catch {
    return url.split('?')[0];
  }
}

async function errorDetail(res: Response): Promise<{ code?: string; text: string }> {
  let body = '';
  try {
    body = await res.text();
  } catch {
    // the body could not be read: the status text describes the error
  }
  try {
    const j = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const e = j.errors?.[0];
    if (e) return { code: e.code, text: `${e.code ?? 'ERROR'}: ${e.message ?? ''}`.trim() };
  } catch {
    // not a registry error document: the raw text is shown instead
  }
  const t = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return { text: t || res.statusText || 'no details' };
}

async function discard(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // only draining the response so the connection can be reused: a body that fails changes nothing
  }
}

/**
 * One repository of a registry, spoken to through the distribution API with the credentials of
 * the Docker config: what {@link pushImage} uses, and the reads, listings and deletions of the
 * remote cache (src/cache/remote/oci.ts). `operation` names what a failure message says failed.
 */
export class RegistryClient {
  readonly base: string;
  readonly name: string;
  readonly scope: string;
  private basicHeader?: string;
  private useBasic = false;
  private readonly fetchFn: typeof fetch;
  readonly configFile: string;
  readonly creds: RegistryCredentials | undefined;

  constructor(
    readonly opts: ImagePushOptions,
    private readonly operation = 'push',
  ) {
    this.name = DOCKER_HUB.has(opts.registry) && !opts.repository.includes('/') ? `library/${opts.repository}` : opts.repository;
    this.scope = `repository:${this.name}:pull,push`;
    this.base = apiBase(opts.registry, opts.insecure ?? isInsecureRegistry(opts.registry));
    this.fetchFn = opts.fetch ?? fetch;
    this.configFile = dockerConfigPath(opts.dockerConfig);
    this.creds = loadRegistryCredentials(opts.registry, this.configFile);
    if (this.creds?.username !== undefined && this.creds.password !== undefined) {
      this.basicHeader = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    }
  }

  fail(what: string, o: { status?: number; code?: string; detail?: string; hint?: string; cause?: unknown } = {}): never {
    const status = o.status !== undefined ? `: HTTP ${o.status}` : '';
    const detail = o.detail ? ` (${o.detail})` : '';
    throw new RegistryError({
      message: `${this.operation === 'push' ? `push of ${this.opts.repository} to` : `${this.operation} at`} ${this.opts.registry}${this.operation === 'push' ? '' : `/${this.opts.repository}`} failed: ${what}${status}${detail}`,
      registry: this.opts.registry,
      repository: this.opts.repository,
      status: o.status,
      code: o.code,
      hint: o.hint,
      cause: o.cause,
    });
  }

  private loginHint(rejected: boolean): string {
    const r = this.opts.registry;
    if (!this.creds) {
      return `log in: credentials for ${r} in ${this.configFile} (e.g. \`docker login ${r}\`, or an entry {"auths":{"${r}":{"auth":"<base64 user:password>"}}})`;
    }
    return rejected ? `log in: the credentials for ${r} (${this.creds.source}) were rejected; log in again (\`docker login ${r}\`)` : `log in: credentials for ${r} in ${this.configFile}`;
  }

  private tokenKey(): string {
    return `${this.base}|${this.creds?.username ?? this.creds?.source ?? ''}|${this.scope}`;
  }

  private async rawFetch(what: string, url: string, init: RequestInit): Promise<Response> {
    const timeout = registryTimeoutSeconds(this.opts.timeoutSeconds);
    try {
      return await this.fetchFn(url, { redirect: 'follow', signal: AbortSignal.timeout(Math.ceil(timeout * 1000)), ...init });
    } catch (e) {
      if ((e as Error)?.name === 'TimeoutError') {
        return this.fail(`${what}: no answer within ${timeout}s (ETIMEDOUT)`, {
          hint: `the registry at ${this.base} accepted the connection but did not answer; check it, or raise deployments.registry.timeout in atmos.yaml or ATMOS_PIPE_REGISTRY_TIMEOUT (now ${timeout}s)`,
          cause: e,
        });
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const code = cause?.code ?? '';
      const insecure = this.base.startsWith('http:');
      let hint = `is a registry listening at ${this.base}?`;
      if (/CERT|SSL|TLS|SELF_SIGNED|EPROTO/i.test(code + (cause?.message ?? '')) && !insecure) {
        hint = `TLS failed; for a plain-HTTP registry set insecure, or add ${this.opts.registry} to ATMOS_PIPE_INSECURE_REGISTRIES`;
      } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        hint = `cannot resolve ${registryHost(this.opts.registry)}; check the registry name`;
      }
      return this.fail(`${what}: ${cause?.message ?? (e as Error).message}`, { hint, cause: e });
    }
  }

  /** A bearer token for our scope from the challenge's realm. */
  private async fetchToken(ch: Challenge, what: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm || !/^https?:\/\//i.test(realm)) return this.fail(`${what}: the registry's Bearer challenge has no usable realm`);
    const scopes = [this.scope];
    if (ch.params.scope && !scopes.includes(ch.params.scope)) scopes.push(ch.params.scope);
    let res: Response;
    if (this.creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.creds.identityToken, client_id: 'atmos-pipe' });
      if (ch.params.service) form.set('service', ch.params.service);
      form.set('scope', scopes.join(' '));
      res = await this.rawFetch(`token request to ${shown(realm)}`, realm, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      const u = new URL(realm);
      if (ch.params.service) u.searchParams.set('service', ch.params.service);
      for (const s of scopes) u.searchParams.append('scope', s);
      if (this.creds?.username) u.searchParams.set('account', this.creds.username);
      const headers: Record<string, string> = {};
      if (this.basicHeader) headers.Authorization = this.basicHeader;
      res = await this.rawFetch(`token request to ${shown(realm)}`, u.toString(), { method: 'GET', headers });
    }
    if (!res.ok) {
      const d = await errorDetail(res);
      const authFail = res.status === 401 || res.status === 403;
      return this.fail(`token request to ${shown(realm)} for ${this.scope}`, {
        status: res.status,
        code: d.code,
        detail: d.text,
        hint: authFail ? this.loginHint(Boolean(this.creds)) : undefined,
      });
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      return this.fail(`token request to ${shown(realm)}: the answer is not JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) return this.fail(`token request to ${shown(realm)}: the answer has no token`);
    const ttl = Math.max(10, Number(body.expires_in) || 60);
    tokenCache.set(this.tokenKey(), { token, expires: Date.now() + (ttl - 5) * 1000 });
    return token;
  }

  private authorization(): string | undefined {
    const cached = tokenCache.get(this.tokenKey());
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    if (this.useBasic) return this.basicHeader;
    return undefined;
  }

  /** A request with authentication negotiated on 401 (each challenge answered once). */
  async request(what: string, method: string, url: string, init: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Response> {
    let answeredBasic = false;
    let fetchedToken = false;
    for (;;) {
      const headers: Record<string, string> = { ...init.headers };
      const auth = this.authorization();
      if (auth) headers.Authorization = auth;
      const res = await this.rawFetch(`${what} (${method} ${shown(url)})`, url, {
        method,
        headers,
        // A Buffer is a valid fetch body at run time (an ArrayBufferView); the DOM-ish typings disagree.
        body: init.body as unknown as RequestInit['body'],
      });
      if (res.status !== 401) return res;
      const ch = parseWwwAuthenticate(res.headers.get('www-authenticate'));
      const d = await errorDetail(res);
      const unauthorized = (rejected: boolean): never => this.fail(`${what} (${method} ${shown(url)})`, { status: 401, code: d.code, detail: d.text, hint: this.loginHint(rejected) });
      if (ch?.scheme === 'basic') {
        if (!this.basicHeader || answeredBasic || (this.useBasic && auth)) unauthorized(Boolean(this.basicHeader));
        this.useBasic = true;
        answeredBasic = true;
        continue;
      }
      if (ch?.scheme === 'bearer') {
        if (fetchedToken) unauthorized(Boolean(this.creds));
        tokenCache.delete(this.tokenKey());
        await this.fetchToken(ch, what);
        fetchedToken = true;
        continue;
      }
      unauthorized(Boolean(this.creds));
    }
  }

  blobUrl(digest: string): string {
    return `${this.base}/v2/${this.name}/blobs/${digest}`;
  }

  async blobExists(digest: string): Promise<boolean> {
    const what = `checking blob ${digest}`;
    const res = await this.request(what, 'HEAD', this.blobUrl(digest));
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.failed(what, res);
  }

  async failed(what: string, res: Response, hint?: string): Promise<never> {
    const d = await errorDetail(res);
    const h =
      hint ??
      (res.status === 403
        ? `the credentials for ${this.opts.registry} (${this.creds?.source ?? 'none'}) lack push access to ${this.name}`
        : res.status === 404 && /NAME_UNKNOWN/.test(d.code ?? '')
          ? `repository ${this.name} does not exist on ${this.opts.registry} (some registries need it created first)`
          : undefined);
    return this.fail(what, { status: res.status, code: d.code, detail: d.text, hint: h });
  }

  async uploadBlob(digest: string, data: Buffer): Promise<void> {
    const start = await this.request(`starting the upload of ${digest}`, 'POST', `${this.base}/v2/${this.name}/blobs/uploads/`);
    if (start.status !== 202 && start.status !== 201) return this.failed(`starting the upload of ${digest}`, start);
    await discard(start);
    const location = start.headers.get('location');
    if (!location) return this.fail(`starting the upload of ${digest}: the registry sent no Location header`);
    // Relative locations resolve against the request URL; an existing query (upload state) is kept.
    const resolved = new URL(location, `${this.base}/v2/${this.name}/blobs/uploads/`).toString();
    const putUrl = `${resolved}${resolved.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const what = `uploading blob ${digest} (${data.length} bytes)`;
    const res = await this.request(what, 'PUT', putUrl, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    if (res.status < 200 || res.status >= 300) return this.failed(what, res);
    await discard(res);
    const answered = res.headers.get('docker-content-digest');
    if (answered && answered !== digest) return this.fail(`${what}: the registry stored it as ${answered}`);
  }

  /** A blob's bytes, or undefined when the registry has none by that digest (they are not verified here). */
  async getBlob(digest: string): Promise<Buffer | undefined> {
    const what = `reading blob ${digest}`;
    const res = await this.request(what, 'GET', this.blobUrl(digest));
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    if (res.status !== 200) return this.failed(what, res);
    return Buffer.from(await res.arrayBuffer());
  }

  private manifestUrl(reference: string): string {
    return `${this.base}/v2/${this.name}/manifests/${reference}`;
  }

  /** A manifest's bytes and the digest the registry names it by, or undefined when there is none under `reference`. */
  async getManifest(reference: string, accept: string): Promise<{ bytes: Buffer; digest: string | null } | undefined> {
    const what = `reading manifest ${reference}`;
    const res = await this.request(what, 'GET', this.manifestUrl(reference), { headers: { Accept: accept } });
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    if (res.status !== 200) return this.failed(what, res);
    return { bytes: Buffer.from(await res.arrayBuffer()), digest: res.headers.get('docker-content-digest') };
  }

  /** Whether a manifest exists under `reference`. */
  async manifestExists(reference: string, accept: string): Promise<boolean> {
    const what = `checking manifest ${reference}`;
    const res = await this.request(what, 'HEAD', this.manifestUrl(reference), { headers: { Accept: accept } });
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.failed(what, res);
  }

  /** Every tag of the repository (`GET /v2/<name>/tags/list`, following `Link` pages); none when the repository does not exist. */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: string | undefined = `${this.base}/v2/${this.name}/tags/list?n=1000`;
    while (url) {
      const res = await this.request('listing tags', 'GET', url);
      if (res.status === 404) {
        await discard(res);
        return tags;
      }
      if (res.status !== 200) return this.failed('listing tags', res);
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      url = next ? new URL(next, this.base).toString() : undefined;
    }
    return tags;
  }

  /** Delete a manifest by digest (every tag naming it goes with it); the registry reclaims unreferenced blobs when it collects garbage. */
  async deleteManifest(digest: string): Promise<void> {
    const what = `deleting manifest ${digest}`;
    const res = await this.request(what, 'DELETE', this.manifestUrl(digest));
    if (res.status === 202 || res.status === 200 || res.status === 404) return discard(res);
    return this.failed(what, res, res.status === 405 ? 'the registry does not allow deletes (distribution: storage.delete.enabled: true)' : undefined);
  }

  async putManifest(reference: string, manifest: Buffer, mediaType: string): Promise<string | null> {
    const what = `pushing manifest ${reference}`;
    const res = await this.request(what, 'PUT', `${this.base}/v2/${this.name}/manifests/${reference}`, {
      headers: { 'Content-Type': mediaType },
      body: manifest,
    });
    if (res.status < 200 || res.status >= 300) return this.failed(what, res);
    await discard(res);
    return res.headers.get('docker-content-digest');
  }
}

/**
 * Push `image` to `opts.registry/opts.repository` (blobs, then the manifest under `opts.tag`
 * or its digest). Blobs the registry already has are skipped.
 */
export async function pushImage(image: BuiltOciImage, opts: ImagePushOptions): Promise<ImagePushResult> {
  const where = { registry: opts.registry, repository: opts.repository };
  if (!opts.registry || /[/\s]/.test(opts.registry) || /^[a-z]+:\/\//i.test(opts.registry)) {
    throw new RegistryError({ ...where, message: `invalid registry ${JSON.stringify(opts.registry)}`, hint: 'give host[:port], e.g. ghcr.io or 127.0.0.1:5000 (no scheme, no path)' });
  }
  if (!REPOSITORY.test(opts.repository)) {
    throw new RegistryError({ ...where, message: `invalid repository name ${JSON.stringify(opts.repository)}`, hint: 'lowercase letters, digits and . _ - separators, path components joined by /' });
  }
  if (opts.tag !== undefined && !TAG.test(opts.tag)) {
    throw new RegistryError({ ...where, message: `invalid tag ${JSON.stringify(opts.tag)}`, hint: 'letters, digits, _ . -, at most 128 characters, not starting with . or -' });
  }
  if (sha256Digest(image.manifest) !== image.manifestDigest) {
    throw new RegistryError({ ...where, message: `image manifest bytes do not match its digest ${image.manifestDigest}` });
  }
  const client = new RegistryClient(opts);
  const blobs = new Map<string, Buffer>();
  for (const l of image.layers) blobs.set(l.digest, l.blob);
  blobs.set(image.configDigest, image.config);
  let pushedBlobs = 0;
  let skippedBlobs = 0;
  for (const [digest, data] of blobs) {
    if (await client.blobExists(digest)) {
      skippedBlobs++;
    } else {
      await client.uploadBlob(digest, data);
      pushedBlobs++;
    }
  }
  const answered = await client.putManifest(opts.tag ?? image.manifestDigest, image.manifest, image.mediaType);
  if (answered && answered !== image.manifestDigest) {
    client.fail(`pushing manifest: the registry answered digest ${answered}, expected ${image.manifestDigest}`, {
      hint: 'the registry rewrote the manifest; push to a registry that stores OCI manifests as they are',
    });
  }
  return {
    reference: `${opts.registry}/${opts.repository}@${image.manifestDigest}`,
    digest: image.manifestDigest,
    pushedBlobs,
    skippedBlobs,
  };
}
