import { NIXPACKS_BASE_IMAGE, type BuildPlan } from '../types.js';
import type { SourceTree } from './app.js';
import { allowsMajor, parseRange } from './semver-range.js';
import { phase, type Found, type Provider } from './provider.js';

/**
 * Node (nixpacks `src/providers/node`): detected by `package.json`; the package manager
 * follows the lockfile; the Node major comes from `engines.node`, `.nvmrc` or
 * `.node-version` (newest available major the range allows).
 */

/** nixpacks defaults to 18; we default to 20, the Node this tool itself requires. */
export const DEFAULT_NODE_MAJOR = 20;
export const NODE_MAJORS = [14, 16, 18, 20, 22] as const;
const NODE_OVERLAY = 'https://github.com/railwayapp/nix-npm-overlay/archive/main.tar.gz';
const NODE_NIXPKGS_ARCHIVE = '5624e1334b26ddc18da37e132b6fa8e93b481468';
const NODE_LT_16_ARCHIVE = 'bf744fe90419885eefced41b3e5ae442d732712d';
const COREPACK_INSTALL = 'npm install -g corepack@0.24.1 && corepack enable';

const CACHE = {
  npm: '/root/.npm',
  yarn: '/usr/local/share/.cache/yarn/v6',
  pnpm: '/root/.local/share/pnpm/store/v3',
} as const;
const NODE_MODULES_CACHE = 'node_modules/.cache';

/** nvm's LTS code names. */
const LTS: Record<string, number> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
};

export type PackageManager = 'npm' | 'yarn' | 'pnpm';

export interface PackageJson {
  main?: unknown;
  scripts?: Record<string, unknown>;
  engines?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  packageManager?: unknown;
}

function packageJson(app: SourceTree): PackageJson {
  const j = app.readJson('package.json');
  return j && typeof j === 'object' && !Array.isArray(j) ? (j as PackageJson) : {};
}

/** `packageManager` in package.json first (as nixpacks), then the lockfile. */
export function packageManager(app: SourceTree, pkg: PackageJson): PackageManager {
  const declared = typeof pkg.packageManager === 'string' ? pkg.packageManager.split('@')[0] : undefined;
  if (declared === 'npm' || declared === 'pnpm' || declared === 'yarn') return declared;
  if (app.hasFile('pnpm-lock.yaml')) return 'pnpm';
  if (app.hasFile('yarn.lock')) return 'yarn';
  return 'npm';
}

function hasScript(pkg: PackageJson, name: string): boolean {
  const s = pkg.scripts;
  return !!s && typeof s === 'object' && typeof s[name] === 'string';
}

/** A Node major from a version string (range, `v20.1.0`, `lts/iron`); undefined when none fits. */
export function nodeMajorFor(spec: string): number | undefined {
  let s = spec.trim();
  const lts = /^lts\/(\w+)$/i.exec(s);
  if (lts) return LTS[lts[1].toLowerCase()];
  if (/^lts\/\*$/i.test(s)) return 22; // the newest LTS, as nixpacks maps it
  if (s === '' || s === '*' || /^(node|stable|latest|current)$/i.test(s)) return undefined;
  s = s.replace(/^v(?=\d)/, '');
  const range = parseRange(s);
  if (!range) return undefined;
  for (const major of [...NODE_MAJORS].sort((a, b) => b - a)) if (allowsMajor(range, major)) return major;
  return undefined;
}

function nodeVersion(app: SourceTree, pkg: PackageJson): { major: number; from: string } {
  const engines = pkg.engines && typeof pkg.engines === 'object' ? pkg.engines.node : undefined;
  const sources: [string, string | undefined][] = [
    ['package.json engines.node', typeof engines === 'string' ? engines : undefined],
    ['.nvmrc', app.hasFile('.nvmrc') ? app.read('.nvmrc') : undefined],
    ['.node-version', app.hasFile('.node-version') ? app.read('.node-version') : undefined],
  ];
  // Like nixpacks: the first source that is present decides; one that names no
  // available major (e.g. "15", "*", "abc") falls back to the default.
  for (const [from, spec] of sources) {
    if (spec === undefined) continue;
    const major = nodeMajorFor(spec);
    return major === undefined ? { major: DEFAULT_NODE_MAJOR, from: 'default' } : { major, from };
  }
  return { major: DEFAULT_NODE_MAJOR, from: 'default' };
}

function managerPkg(app: SourceTree, pm: PackageManager): string {
  if (pm === 'yarn') return 'yarn-1_x';
  if (pm === 'pnpm') {
    const lock = app.readOptional('pnpm-lock.yaml');
    if (lock.startsWith('lockfileVersion: 5.3')) return 'pnpm-6_x';
    if (lock.startsWith('lockfileVersion: 5.4')) return 'pnpm-7_x';
    if (/^lockfileVersion: ['"]?6\.0/.test(lock)) return 'pnpm-8_x';
    return 'pnpm-9_x';
  }
  const lock = app.readOptional('package-lock.json');
  if (/"lockfileVersion":\s*1\b/.test(lock)) return 'npm-6_x';
  if (/"lockfileVersion":\s*2\b/.test(lock)) return 'npm-8_x';
  return 'npm-9_x';
}

function installCmd(app: SourceTree, pm: PackageManager): string {
  if (pm === 'pnpm') return 'pnpm i --frozen-lockfile';
  if (pm === 'yarn') return app.hasFile('.yarnrc.yml') ? 'yarn install --check-cache' : 'yarn install --frozen-lockfile';
  return app.hasFile('package-lock.json') ? 'npm ci' : 'npm i';
}

function deps(pkg: PackageJson): Set<string> {
  const out = new Set<string>();
  for (const d of [pkg.dependencies, pkg.devDependencies]) if (d && typeof d === 'object') for (const k of Object.keys(d)) out.add(k);
  return out;
}

export const node: Provider = {
  name: 'node',
  looksFor: 'package.json',
  detect(app): Found | undefined {
    if (!app.hasFile('package.json')) return undefined;
    const { major, from } = nodeVersion(app, packageJson(app));
    return { evidence: 'package.json', version: String(major), versionFrom: from };
  },
  plan(app): BuildPlan {
    const pkg = packageJson(app);
    const { major } = nodeVersion(app, pkg);
    const pm = packageManager(app, pkg);
    const all = deps(pkg);

    const nixPkgs = [`nodejs_${major}`, managerPkg(app, pm)];
    if (all.has('prisma') || all.has('@prisma/client')) nixPkgs.push('openssl');

    const corepack = major !== 14 && typeof pkg.packageManager === 'string' && !pkg.packageManager.startsWith('npm');
    const install = installCmd(app, pm);
    const installCache: string[] = [CACHE[pm]];
    if (all.has('cypress')) installCache.push('/root/.cache/Cypress');

    const buildCache = [NODE_MODULES_CACHE];
    if (all.has('next')) buildCache.push('.next/cache');

    let startCmd: string | null = null;
    if (hasScript(pkg, 'start')) startCmd = `${pm} run start`;
    else if (typeof pkg.main === 'string' && pkg.main && app.hasFile(pkg.main.replace(/^\.\//, ''))) startCmd = `node ${pkg.main}`;
    else if (app.hasFile('index.js')) startCmd = 'node index.js';

    return {
      providers: ['node'],
      buildImage: NIXPACKS_BASE_IMAGE,
      variables: { CI: 'true', NODE_ENV: 'production', NPM_CONFIG_PRODUCTION: 'false' },
      phases: {
        setup: phase({
          name: 'setup',
          nixPkgs,
          nixOverlays: [NODE_OVERLAY],
          nixpkgsArchive: major <= 16 ? NODE_LT_16_ARCHIVE : NODE_NIXPKGS_ARCHIVE,
        }),
        install: phase({
          name: 'install',
          dependsOn: ['setup'],
          cmds: corepack ? [COREPACK_INSTALL, install] : [install],
          cacheDirectories: installCache.sort(),
          paths: ['/app/node_modules/.bin'],
        }),
        build: phase({
          name: 'build',
          dependsOn: ['install'],
          cmds: hasScript(pkg, 'build') ? [`${pm} run build`] : [],
          cacheDirectories: buildCache.sort(),
        }),
      },
      start: { cmd: startCmd },
    };
  },
};

/** The package manager a node plan uses, read back from its setup packages. */
export function planPackageManager(plan: BuildPlan): PackageManager {
  const pkgs = plan.phases.setup?.nixPkgs ?? [];
  if (pkgs.some((p) => /^pnpm-\d+_x$/.test(p))) return 'pnpm';
  if (pkgs.some((p) => /^yarn-\d+_x$/.test(p))) return 'yarn';
  return 'npm';
}
