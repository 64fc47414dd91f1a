/**
 * The local store's indexes: which image was last built for each nixpack component of each
 * deployment (what `describe`, bindings and releases use until a release pins one), and what
 * each component of a declared type (e.g. a zip archive) last produced (what `describe` shows).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuiltImage } from '../resolve/types.js';
import { writeFileAtomic } from './cas.js';

/**
 * Images built by the build stage for a deployment, per nixpack component, from the local
 * image store index (`<cache>/images/built.json`: `{ <deployment>: { <component>: image } }`,
 * written by the build stage). None before anything was built.
 */
export function readImageStore(cacheDir: string, deployment: string): Record<string, BuiltImage> {
  return readImageIndex(cacheDir)[deployment] ?? {};
}

function readImageIndex(cacheDir: string): Record<string, Record<string, BuiltImage>> {
  return readIndex(path.join(cacheDir, 'images', 'built.json'));
}

/** A JSON index `{ <deployment>: { <component>: value } }`; empty when missing or unreadable. */
function readIndex<T>(f: string): Record<string, Record<string, T>> {
  if (!existsSync(f)) return {};
  try {
    const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Record<string, T>>) : {};
  } catch {
    return {};
  }
}

/** Records the image built for a nixpack component (atomic write; last writer wins per entry). */
export function writeImageStore(cacheDir: string, deployment: string, component: string, image: BuiltImage): void {
  const index = readImageIndex(cacheDir);
  index[deployment] = { ...(index[deployment] ?? {}), [component]: image };
  writeFileAtomic(path.join(cacheDir, 'images', 'built.json'), `${JSON.stringify(index, null, 2)}\n`);
}

/** Where the outputs of declared components are indexed (`{ <deployment>: { <address>: outputs } }`). */
function artifactIndex(cacheDir: string): string {
  return path.join(cacheDir, 'artifacts', 'built.json');
}

/**
 * What the components of declared types of a deployment last produced, by type and name (the
 * shape of `ResolveOptions.declaredOutputs`). None before anything was built.
 */
export function readArtifactStore(cacheDir: string, deployment: string): Record<string, Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const [address, outputs] of Object.entries(readIndex<Record<string, unknown>>(artifactIndex(cacheDir))[deployment] ?? {})) {
    const i = address.indexOf('/');
    (out[address.slice(0, i)] ??= {})[address.slice(i + 1)] = outputs;
  }
  return out;
}

/** Records what a component of a declared type produced (atomic write; last writer wins per entry). */
export function writeArtifactStore(cacheDir: string, deployment: string, address: string, outputs: Record<string, unknown>): void {
  const index = readIndex<Record<string, unknown>>(artifactIndex(cacheDir));
  index[deployment] = { ...(index[deployment] ?? {}), [address]: outputs };
  writeFileAtomic(artifactIndex(cacheDir), `${JSON.stringify(index, null, 2)}\n`);
}
