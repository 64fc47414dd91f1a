import { existsSync, readFileSync } from 'node:fs';

/** Set by the bundler (build.mjs); read from package.json when running the tsc output or the sources. */
declare const __ATMOS_PIPE_VERSION__: string | undefined;

function fromPackageJson(): string {
  // dist/src/version.js -> ../../package.json; src/version.ts (tests) -> ../package.json
  for (const rel of ['../../package.json', '../package.json']) {
    const u = new URL(rel, import.meta.url);
    if (!existsSync(u)) continue;
    const pkg = JSON.parse(readFileSync(u, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'atmos-pipe' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}

/** The atmos-pipe version (recorded in releases and SBOMs). */
export const VERSION: string = typeof __ATMOS_PIPE_VERSION__ === 'string' ? __ATMOS_PIPE_VERSION__ : fromPackageJson();
