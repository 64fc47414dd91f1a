import { APP_DIR, NIXPACKS_BASE_IMAGE, STATIC_ASSETS_DIR, type BuildPlan } from '../types.js';
import type { SourceTree } from './app.js';
import { phase, type Found, type Provider } from './provider.js';

/**
 * Static sites: an `index.html` in `public/`, `dist/` or at the root (the first of these
 * is the site root, in nixpacks' order). Served by Caddy (as nixpacks serves SPAs) with
 * a Caddyfile shipped as a static asset; only the site root goes into the image.
 */

const CADDY_NIXPKGS_ARCHIVE = 'ba913eda2df8eb72147259189d55932012df6301';
const ROOTS: [index: string, root: string][] = [
  ['public/index.html', 'public'],
  ['dist/index.html', 'dist'],
  ['index.html', '.'],
];

function siteRoot(app: SourceTree): [string, string] | undefined {
  return ROOTS.find(([index]) => app.hasFile(index));
}

export function caddyfile(root: string): string {
  const dir = root === '.' ? APP_DIR : `${APP_DIR}/${root}`;
  return [
    '{',
    '\tadmin off',
    '\tpersist_config off',
    '\tauto_https off',
    '\tlog {',
    '\t\tformat json',
    '\t}',
    '}',
    '',
    ':{$PORT:80} {',
    '\tlog {',
    '\t\tformat json',
    '\t}',
    `\troot * ${dir}`,
    '\tencode gzip',
    '\tfile_server',
    '}',
    '',
  ].join('\n');
}

export const staticSite: Provider = {
  name: 'static',
  looksFor: 'index.html (in public/, dist/ or at the root)',
  detect(app): Found | undefined {
    const r = siteRoot(app);
    return r ? { evidence: r[0] } : undefined;
  },
  plan(app): BuildPlan {
    const [, root] = siteRoot(app) ?? ['index.html', '.'];
    return {
      providers: ['static'],
      buildImage: NIXPACKS_BASE_IMAGE,
      variables: {},
      staticAssets: { Caddyfile: caddyfile(root) },
      phases: {
        setup: phase({ name: 'setup', nixPkgs: ['caddy'], nixpkgsArchive: CADDY_NIXPKGS_ARCHIVE }),
        install: phase({ name: 'install', dependsOn: ['setup'] }),
        build: phase({ name: 'build', dependsOn: ['install'] }),
      },
      start: {
        cmd: `exec caddy run --config ${STATIC_ASSETS_DIR}/Caddyfile --adapter caddyfile 2>&1`,
        ...(root === '.' ? {} : { onlyIncludeFiles: [root] }),
      },
    };
  },
};
