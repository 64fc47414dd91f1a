/**
 * What `resolve` asks about a module (a pure read: the lock and the store, never a fetch).
 */
import { existsSync } from 'node:fs';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig } from '../config/deployment.js';
import type { YamlFileCache } from '../config/files.js';
import { formatLocation } from '../diagnostics/index.js';
import { loadVendorConfig, selectEntry, type SelectedEntry, type VendorConfig } from './config.js';
import { linkDir, objectDir, readLock, vendorPaths, type LockEntry, type LockFile } from './store.js';

export interface VendoredInfo {
  digest: string;
  source: string;
  version: string | null;
}

export type ModuleLookup = { kind: 'local' } | ({ kind: 'vendored'; dir: string } & VendoredInfo) | { kind: 'unpulled'; code: string; message: string; hint: string };

/** Does a lock entry still describe what the configuration asks for? */
export function lockMatches(le: LockEntry | undefined, sel: SelectedEntry): boolean {
  if (!le) return false;
  const same = (a?: string[], b?: string[]) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  return le.source === sel.rendered && (le.version ?? null) === (sel.version ?? null) && same(le.included_paths, sel.included_paths) && same(le.excluded_paths, sel.excluded_paths);
}

export function describeOrigin(sel: SelectedEntry): string {
  return `${sel.origin}${sel.location ? ` (${formatLocation(sel.location)})` : ''}`;
}

/**
 * A lookup for one deployment and target: module name → the local module, the vendored
 * directory (per the lock and the store), or why it is not available yet.
 */
export function vendorLookup(cfg: AtmosConfig, dep: DeploymentConfig, target: string, files: YamlFileCache): (module: string) => ModuleLookup {
  let vc: VendorConfig | undefined;
  let lock: LockFile | undefined;
  const paths = vendorPaths(cfg.cacheDir);
  return (module) => {
    vc ??= loadVendorConfig(cfg, dep, files);
    const sel = selectEntry(cfg, vc, dep, target, module);
    if (!sel) return { kind: 'local' };
    lock ??= readLock(paths, dep.name, target);
    const le = lock.components[module];
    const pull = `atmos-pipe vendor pull --deployment ${dep.name} --target ${target}`;
    const from = `${sel.rendered} (${describeOrigin(sel)})`;
    if (!le) {
      return { kind: 'unpulled', code: 'deployment/module-missing', message: `module "${module}" is vendored for target ${target} from ${from} but has not been pulled yet`, hint: pull };
    }
    if (!lockMatches(le, sel)) {
      return {
        kind: 'unpulled',
        code: 'deployment/module-missing',
        message: `module "${module}" for target ${target}: the vendor lock (${le.source}${le.version ? `, version ${le.version}` : ''}) differs from the configuration (${from})`,
        hint: pull,
      };
    }
    const dir = linkDir(paths, dep.name, target, module);
    if (!existsSync(objectDir(paths, le.digest)) || !existsSync(dir)) {
      return {
        kind: 'unpulled',
        code: 'deployment/module-missing',
        message: `module "${module}" for target ${target}: vendored ${le.digest.slice(0, 19)} is no longer in the store (cleaned?)`,
        hint: `${pull} (relinks from the store, or fetches again)`,
      };
    }
    return { kind: 'vendored', dir, digest: le.digest, source: le.source, version: le.version };
  };
}
