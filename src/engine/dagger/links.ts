/**
 * Engine-neutral outputs: after a step's workspace is exported, no symlink may lead to a path
 * that exists only inside its container. Terraform links providers from its plugin cache
 * (`.terraform/providers/… -> /atmos-pipe/cache/terraform-plugins/…`); stored as is in the
 * content-addressed store, such a link is dangling for the local engine, which serves the same
 * fingerprint. So a link into the workspace is made relative, and a link into a tool cache is
 * replaced by what it points at, exported from the container.
 */
import { lstatSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { DaggerContainer } from './client.js';

function inside(parent: string, p: string): boolean {
  return p === parent || p.startsWith(`${parent}/`);
}

/** Every symlink below `dir` whose target is absolute (host path, target). */
function absoluteLinks(dir: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) {
        const t = readlinkSync(p);
        if (path.posix.isAbsolute(t)) out.push([p, t]);
      } else if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Rewrites the absolute links of the exported workspace `host` (mounted at `workspace` in
 * `container`); returns the links replaced by content.
 */
export async function resolveContainerLinks(container: DaggerContainer, host: string, links: { workspace: string; caches: string[] }): Promise<string[]> {
  const replaced: string[] = [];
  for (const [p, target] of absoluteLinks(host)) {
    const target0 = path.posix.normalize(target);
    if (inside(links.workspace, target0)) {
      const rel = path.relative(path.dirname(p), path.join(host, path.posix.relative(links.workspace, target0)));
      rmSync(p);
      symlinkSync(rel || '.', p);
      continue;
    }
    if (!links.caches.some((c) => inside(c, target0))) continue;
    rmSync(p);
    try {
      // Providers are directories; a single file is the other case.
      await container.directory(target0).export(p);
    } catch {
      await container.file(target0).export(p);
    }
    if (lstatSync(p, { throwIfNoEntry: false })) replaced.push(path.relative(host, p));
  }
  return replaced;
}
