import { readFileSync } from 'node:fs';

/** Set by the bundler (build.mjs); read from package.json when running the tsc output. */
declare const __ATMOS_PIPE_VERSION__: string | undefined;

/** The atmos-pipe version (recorded in releases). */
export const VERSION: string =
  typeof __ATMOS_PIPE_VERSION__ === 'string'
    ? __ATMOS_PIPE_VERSION__
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
