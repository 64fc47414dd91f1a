/**
 * Credentials (SPEC 4.1): which environment variables reach steps, as plain env and as
 * secrets, and the one masker that keeps secret values out of everything atmos-pipe writes.
 *
 * Declared in atmos.yaml (`deployments.env` / `deployments.secrets`), in the deployment
 * (`deployment.env` / `deployment.secrets`), per target (`targets.<t>.env` / `.secrets`) and
 * per component (`components.<type>.<c>.secrets`; a component's own `env` map stays the
 * component's plain env):
 *
 *   env:                       # plain env: part of the fingerprint, shown by describe
 *     - AWS_PROFILE            #   passed through from the runner's environment (if set)
 *     - TF_LOG=warn            #   or NAME=value
 *   secrets:                   # values HMAC'd into the fingerprint, never stored, masked
 *     - AWS_SECRET_ACCESS_KEY  #   the runner's variable of the same name
 *     - name: ARM_CLIENT_SECRET
 *       from_env: CI_ARM_SECRET          # another variable of the runner
 *     - name: GOOGLE_CREDENTIALS
 *       from_file: /run/secrets/gcp.json # a file on the runner (relative: to the repository root)
 *       optional: true                   # missing: the step runs without it (default: exit 2)
 *
 * Secrets of every level add up (a later level's entry of the same name replaces the
 * earlier's source): atmos.yaml, deployment, target, component.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { isPlainMap, locOf } from '../yaml/index.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, 'must be an environment variable name (letters, digits, _)');

/** One `secrets:` entry: a variable name, or where its value comes from. */
export const secretEntrySchema = z.union([
  envName,
  z
    .strictObject({ name: envName, from_env: envName.optional(), from_file: z.string().min(1).optional(), optional: z.boolean().optional() })
    .refine((s) => !(s.from_env !== undefined && s.from_file !== undefined), { message: 'from_env and from_file are mutually exclusive' }),
]);
export const secretListSchema = z.array(secretEntrySchema);

/** `env:` at deployment, target and atmos.yaml level: `NAME` (passed through) or `NAME=value`, or a map. */
export const envListSchema = z.union([
  z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(=[\s\S]*)?$/, 'must be NAME (passed through from the environment) or NAME=value')),
  z.record(envName, z.union([z.string(), z.number(), z.boolean()])),
]);

export type SecretEntry = z.infer<typeof secretEntrySchema>;
export type EnvEntries = z.infer<typeof envListSchema>;

/** A declared secret, normalised. */
export interface SecretDecl {
  /** Name of the variable inside the step. */
  name: string;
  /** Where the value comes from: `env:<NAME>` or `file:<absolute path>`. */
  source: string;
  optional: boolean;
  location?: Location;
}

/** A declared plain variable: a fixed value, or passed through from the runner (`value` undefined). */
export interface EnvDecl {
  name: string;
  value?: string;
}

export interface Credentials {
  env: EnvDecl[];
  secrets: SecretDecl[];
}

/** One level's declarations (atmos.yaml, deployment, target or component). */
export interface CredentialLevel {
  env?: EnvEntries;
  secrets?: SecretEntry[];
}

/** Merge levels, lowest first: env by name (later wins), secrets by name (later wins). */
export function mergeCredentials(levels: (CredentialLevel | undefined)[], repoRoot: string): Credentials {
  const env = new Map<string, EnvDecl>();
  const secrets = new Map<string, SecretDecl>();
  for (const l of levels) {
    if (!l) continue;
    if (Array.isArray(l.env)) {
      for (const e of l.env) {
        const i = e.indexOf('=');
        const d: EnvDecl = i < 0 ? { name: e } : { name: e.slice(0, i), value: e.slice(i + 1) };
        env.set(d.name, d);
      }
    } else if (l.env) for (const [k, v] of Object.entries(l.env)) env.set(k, { name: k, value: String(v) });
    (l.secrets ?? []).forEach((s, i) => {
      const location = locOf(l.secrets, i);
      const d: SecretDecl =
        typeof s === 'string'
          ? { name: s, source: `env:${s}`, optional: false }
          : {
              name: s.name,
              source: s.from_file !== undefined ? `file:${path.resolve(repoRoot, s.from_file)}` : `env:${s.from_env ?? s.name}`,
              optional: s.optional ?? false,
            };
      secrets.set(d.name, location ? { ...d, location } : d);
    });
  }
  for (const n of secrets.keys()) env.delete(n); // a secret is never also plain
  return { env: [...env.values()], secrets: [...secrets.values()] };
}

/** Values of plain declared env: fixed values, and pass-throughs that are set. */
export function envValues(decls: EnvDecl[], runner: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of decls) {
    const v = d.value ?? runner[d.name];
    if (v !== undefined) out[d.name] = v;
  }
  return out;
}

function describeSource(source: string): string {
  return source.startsWith('env:') ? `environment variable ${source.slice(4)}` : `file ${source.slice(5)}`;
}

/**
 * Read every declared secret of the given components into the store (before anything
 * runs). A missing required one is a located error (exit 2) naming it, never its value.
 * A file's content loses one trailing newline. Returns the names of values too short to be
 * masked (see {@link MIN_MASKED_LENGTH}).
 */
export function loadSecrets(decls: { component: string; secrets: SecretDecl[] }[], runner: NodeJS.ProcessEnv, store: SecretStore): string[] {
  const problems: Diagnostic[] = [];
  const short = new Set<string>();
  const seen = new Set<string>();
  for (const { component, secrets } of decls) {
    for (const s of secrets) {
      if (seen.has(s.source)) continue;
      seen.add(s.source);
      let value: string | undefined;
      if (s.source.startsWith('env:')) value = runner[s.source.slice(4)];
      else {
        const f = s.source.slice(5);
        if (existsSync(f) && statSync(f).isFile()) value = readFileSync(f, 'utf8').replace(/\r?\n$/, '');
      }
      if (value === undefined || value === '') {
        if (!s.optional) {
          problems.push(
            error(
              'secrets/missing',
              `secret ${s.name} of ${component} is not available: ${describeSource(s.source)} is ${s.source.startsWith('env:') ? 'not set' : 'missing'}`,
              s.location,
              `set it in the runner's environment, or mark the entry \`optional: true\``,
            ),
          );
        }
        continue;
      }
      store.set(s.source, value);
      if (value.length < MIN_MASKED_LENGTH) short.add(s.name);
    }
  }
  if (problems.length) throw new DiagnosticError(problems);
  return [...short].sort();
}

/** Values shorter than this are not masked (masking "abc" would garble every log); never print them either. */
export const MIN_MASKED_LENGTH = 4;
export const MASK = '***';

/**
 * Credentials in a URL, printed as `https://***@host/`: a password in any scheme
 * (`scheme://user:token@`), and any userinfo of http(s), where a token is often the user name
 * (`https://ghp_x@github.com`). A bare ssh user name (`ssh://git@host`) is no secret and stays.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:'"<>]*:[^\s/@'"<>]*@/gi;
const HTTP_USERINFO = /\b(https?:\/\/)[^\s/@'"<>]+@/gi;

export function redactUrl(text: string): string {
  return text.replace(URL_PASSWORD, `$1${MASK}@`).replace(HTTP_USERINFO, `$1${MASK}@`);
}

/** The forms of a value that are masked: as is, base64 (padded or not), base64url, URL-encoded, hex. */
function maskForms(value: string): string[] {
  const b = Buffer.from(value, 'utf8');
  const forms = [value, b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), encodeURIComponent(value), b.toString('hex')];
  // A multi-line value (a key file) may be printed line by line.
  if (value.includes('\n')) for (const l of value.split(/\r?\n/)) if (l.trim().length >= 8) forms.push(l.trim());
  return forms.filter((f) => f.length >= MIN_MASKED_LENGTH);
}

/**
 * Secret values of this process, by source key (`env:NAME`, `file:/path`, or a derived key such
 * as a sensitive Terraform output's), and the masker every output goes through.
 */
export class SecretStore {
  private readonly values = new Map<string, string>();
  private masks: string[] = [];

  set(key: string, value: string): void {
    this.values.set(key, value);
    this.addMask(value);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Mask this value (and its encodings) from now on. */
  addMask(value: string): void {
    const all = new Set([...this.masks, ...maskForms(value)]);
    this.masks = [...all].sort((a, b) => b.length - a.length);
  }

  /** Mask the credentials of a URL (`https://user:token@host`). */
  addUrl(url: string | undefined): void {
    if (!url) return;
    try {
      const u = new URL(url);
      for (const p of [u.password, u.username]) if (p) for (const v of new Set([p, decodeURIComponent(p)])) this.addMask(v);
    } catch {
      // not a URL (a remote's name, a path): nothing to mask
    }
  }

  /** Whether a text contains a masked value. */
  contains(text: string): boolean {
    return this.masks.some((m) => text.includes(m));
  }

  /** The text with every secret value (in any masked form) and URL credentials replaced by `***`. */
  mask(text: string): string {
    let out = text;
    for (const m of this.masks) if (out.includes(m)) out = out.split(m).join(MASK);
    return redactUrl(out);
  }

  /** Every string inside a JSON-like value masked (events, records). */
  maskDeep<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.maskDeep(v);
      return out as T;
    }
    return value;
  }
}

/** The process's secrets: filled before a run starts and by sensitive outputs; read by every printer. */
export const secrets = new SecretStore();

/**
 * Mask everything this process writes to stdout and stderr (errors, notices, summaries,
 * events, git's relayed messages): the last line of defence behind the maskers at the source.
 */
let outputMasked = false;
export function maskProcessOutput(): void {
  if (outputMasked) return;
  outputMasked = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      let text: string | undefined;
      if (typeof chunk === 'string') text = chunk;
      else if (chunk instanceof Uint8Array) {
        // Binary output (an archive on stdout) passes untouched: only text is masked.
        const decoded = Buffer.from(chunk).toString('utf8');
        if (Buffer.from(decoded, 'utf8').equals(Buffer.from(chunk))) text = decoded;
      }
      return write(text === undefined ? chunk : secrets.mask(text), ...rest);
    }) as typeof stream.write;
  }
}

// ---- Sensitive values at rest (Terraform's `"sensitive": true` outputs).

const SEALED = '$sealed';

function sealKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'atmos-pipe sensitive values v1', 32));
}

/**
 * Encrypt a value with the per-repository key (AES-256-GCM). The IV is derived from the
 * plaintext (synthetic IV), so the same value seals to the same bytes: cached results and the
 * fingerprints of dependents stay stable, and equal values are all it reveals.
 */
export function seal(value: unknown, key: Buffer): { [SEALED]: string } {
  const k = sealKey(key);
  const plain = Buffer.from(JSON.stringify(value ?? null), 'utf8');
  const iv = createHmac('sha256', k).update(plain).digest().subarray(0, 12);
  const c = createCipheriv('aes-256-gcm', k, iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return { [SEALED]: Buffer.concat([iv, c.getAuthTag(), body]).toString('base64') };
}

export function isSealed(v: unknown): v is { [SEALED]: string } {
  return isPlainMap(v) && typeof (v as Record<string, unknown>)[SEALED] === 'string' && Object.keys(v).length === 1;
}

/** A value as stored: opened when sealed, else as is. */
export function opened(v: unknown, key: Buffer): unknown {
  return isSealed(v) ? unseal(v, key) : v;
}

export function unseal(v: { [SEALED]: string }, key: Buffer): unknown {
  const raw = Buffer.from(v[SEALED], 'base64');
  const d = createDecipheriv('aes-256-gcm', sealKey(key), raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as unknown;
}

/**
 * Seal every `{ "sensitive": true, "value": X }` inside a step's value output (the shape of
 * `terraform output -json`): X is stored encrypted, and masked from now on.
 */
export function sealSensitive(values: unknown, key: Buffer, store: SecretStore = secrets): unknown {
  if (Array.isArray(values)) return values.map((v) => sealSensitive(v, key, store));
  if (!isPlainMap(values)) return values;
  const o = values as Record<string, unknown>;
  if (o.sensitive === true && 'value' in o && !isSealed(o.value)) {
    maskValue(o.value, store);
    return { ...o, value: seal(o.value, key) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = sealSensitive(v, key, store);
  return out;
}

/** Every string of a value (and an object's JSON) masked from now on. */
export function maskValue(value: unknown, store: SecretStore = secrets): void {
  if (typeof value === 'string') store.addMask(value);
  else if (value !== null && typeof value === 'object') {
    store.addMask(JSON.stringify(value));
    for (const v of Object.values(value as Record<string, unknown>)) maskValue(v, store);
  }
  // Numbers and booleans are not masked: "true" or a port number would garble every log.
}

/** The inverse of {@link sealSensitive}, in memory only: sealed values are decrypted and masked. */
export function unsealSensitive(values: unknown, key: Buffer, store: SecretStore = secrets): unknown {
  if (isSealed(values)) {
    const v = unseal(values, key);
    maskValue(v, store);
    return v;
  }
  if (Array.isArray(values)) return values.map((v) => unsealSensitive(v, key, store));
  if (!isPlainMap(values)) return values;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values as Record<string, unknown>)) out[k] = unsealSensitive(v, key, store);
  return out;
}

/** A component's declared secrets as step fields: names, and where each value comes from. */
export function stepSecrets(c: Credentials | undefined): { secrets: string[]; secretSources: Record<string, string> } {
  const list = c?.secrets ?? [];
  return { secrets: list.map((s) => s.name).sort(), secretSources: Object.fromEntries(list.map((s) => [s.name, s.source])) };
}
