/**
 * The local image store's index: which image was last built for each nixpack component of
 * each deployment (what `describe`, bindings and releases use until a release pins one).
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
  const f = path.join(cacheDir, 'images', 'built.json');
  if (!existsSync(f)) return {};
  try {
    const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Record<string, BuiltImage>>) : {};
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
