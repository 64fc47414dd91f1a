/**
 * Sensitive values at rest (SPEC 4.1): Terraform's `"sensitive": true` outputs, and whole
 * value outputs that may hold secrets (a JSON plan), are stored encrypted with the
 * per-repository key and opened only in memory, where they are also masked.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { isPlainMap } from '../yaml/index.js';
import { secrets, type SecretStore } from './mask.js';

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
