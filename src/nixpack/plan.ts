/**
 * Build plans for nixpack components (SPEC 5.1): detect the provider from the source
 * tree, derive a plan compatible in shape with nixpacks' plan JSON, apply the
 * component's `vars` overrides. Plans are pure functions of the tree: same files ⇒
 * identical JSON (no timestamps, no host paths, stable key and list order).
 */
import { statSync } from 'node:fs';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { SourceTree } from './providers/app.js';
import { dockerfile } from './providers/dockerfile.js';
import { go } from './providers/go.js';
import { node, planPackageManager } from './providers/node.js';
import { appendUnique, canonicalPlan, phase, type Provider } from './providers/provider.js';
import { python } from './providers/python.js';
import { staticSite } from './providers/static.js';
import { APP_DIR, type BuildPlan, type Detection, type NixpackVars } from './types.js';

export type { BuildPlan, Detection, NixpackVars } from './types.js';
export { NIXPACKS_BASE_IMAGE } from './types.js';

/** Detection order; the Dockerfile only counts with `dockerfile_escape`. */
const PROVIDERS: readonly Provider[] = [dockerfile, node, go, python, staticSite];

/** What each provider looks for, e.g. for a hint. */
export function providerHint(): string {
  return `providers and what they look for: ${PROVIDERS.map((p) => `${p.name}: ${p.looksFor}`).join('; ')}`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function detectIn(app: SourceTree, dockerfileEscape: boolean): [Provider, Detection] | undefined {
  for (const p of PROVIDERS) {
    if (p.name === 'dockerfile' && !dockerfileEscape) continue;
    const found = p.detect(app);
    if (found) {
      const d: Detection = { provider: p.name, evidence: found.evidence };
      if (found.version !== undefined) d.version = found.version;
      if (found.versionFrom !== undefined) d.versionFrom = found.versionFrom;
      return [p, d];
    }
  }
  return undefined;
}

/**
 * First matching provider in a fixed order: dockerfile (only when dockerfileEscape), node,
 * go, python, static. undefined when none (or when the directory does not exist). Throws a
 * located DiagnosticError when a file it must read to choose the version is malformed
 * (e.g. package.json that is not JSON).
 */
export function detectProvider(sourceDir: string, opts: { dockerfileEscape?: boolean } = {}): Detection | undefined {
  if (!isDir(sourceDir)) return undefined;
  return detectIn(new SourceTree(sourceDir, sourceDir), opts.dockerfileEscape === true)?.[1];
}

const STRING_VARS = ['install_cmd', 'build_cmd', 'start_cmd', 'test_cmd'] as const;
const LIST_VARS = ['pkgs', 'apt_pkgs'] as const;

function checkVars(vars: NixpackVars, location: Location | undefined): void {
  const problems: Diagnostic[] = [];
  for (const k of STRING_VARS) {
    const v = vars[k];
    if (v !== undefined && typeof v !== 'string') {
      problems.push(error('nixpack/invalid-var', `vars.${k} must be a string, got ${JSON.stringify(v)}`, location));
    }
  }
  for (const k of LIST_VARS) {
    const v = vars[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) {
      problems.push(
        error(
          'nixpack/invalid-var',
          `vars.${k} must be a list of package names, got ${JSON.stringify(v)}`,
          location,
          k === 'pkgs' ? 'e.g. pkgs: [ffmpeg, imagemagick] (Nix package names)' : 'e.g. apt_pkgs: [curl] (Debian/Ubuntu package names)',
        ),
      );
    }
  }
  if (problems.length) throw new DiagnosticError(problems);
}

/** `"..."` is nixpacks' "extend the lower layer" marker; appending already extends, so it is dropped. */
function userList(v: string[] | undefined): string[] {
  return (v ?? []).map((x) => x.trim()).filter((x) => x !== '...');
}

function applyOverrides(plan: BuildPlan, vars: NixpackVars, location: Location | undefined): BuildPlan {
  if (plan.providers[0] === 'dockerfile') {
    const ignored = (['install_cmd', 'build_cmd', 'pkgs', 'apt_pkgs'] as const).filter((k) => vars[k] !== undefined);
    if (ignored.length) {
      throw new DiagnosticError(
        error(
          'nixpack/override-not-applicable',
          `${ignored.map((k) => `vars.${k}`).join(', ')} cannot apply to a Dockerfile build (settings.nixpack.dockerfile_escape: true): the Dockerfile decides how the image is built`,
          location,
          'move these steps into the Dockerfile, or remove the Dockerfile escape to build with the detected provider',
        ),
      );
    }
    if (vars.start_cmd !== undefined) plan.start.cmd = vars.start_cmd === '' ? null : vars.start_cmd;
    return plan;
  }
  const setup = plan.phases.setup ?? { name: 'setup' };
  const install = plan.phases.install ?? { name: 'install', dependsOn: ['setup'] };
  const build = plan.phases.build ?? { name: 'build', dependsOn: ['install'] };
  // An empty string removes the phase's commands (e.g. build_cmd: "" skips the build).
  if (vars.install_cmd !== undefined) install.cmds = vars.install_cmd === '' ? [] : [vars.install_cmd];
  if (vars.build_cmd !== undefined) build.cmds = vars.build_cmd === '' ? [] : [vars.build_cmd];
  if (vars.start_cmd !== undefined) plan.start.cmd = vars.start_cmd === '' ? null : vars.start_cmd;
  const pkgs = userList(vars.pkgs);
  if (pkgs.length) setup.nixPkgs = appendUnique(setup.nixPkgs, pkgs);
  const apt = userList(vars.apt_pkgs);
  if (apt.length) setup.aptPkgs = appendUnique(setup.aptPkgs, apt);
  plan.phases = { ...plan.phases, setup: phase(setup), install: phase(install), build: phase(build) };
  return plan;
}

/**
 * The plan with the vars overrides applied (install_cmd/build_cmd replace the phase cmds;
 * start_cmd the start cmd; pkgs are appended to setup.nixPkgs; apt_pkgs to setup.aptPkgs).
 * Throws DiagnosticError (exit 2) located at `location` when the source does not exist,
 * when no provider matches (with a hint listing what each provider looks for), or when an
 * override is malformed or cannot apply (install/build/pkgs with a Dockerfile build).
 */
export function makePlan(sourceDir: string, vars: NixpackVars, opts: { dockerfileEscape?: boolean; location?: Location } = {}): BuildPlan {
  const location = opts.location;
  const display = typeof vars.source === 'string' && vars.source ? vars.source : sourceDir;
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(sourceDir);
  } catch {
    st = undefined;
  }
  if (!st) {
    throw new DiagnosticError(
      error('nixpack/source-missing', `source ${JSON.stringify(display)} does not exist`, location, 'vars.source is a directory relative to the repository root, e.g. ./services/api'),
    );
  }
  if (!st.isDirectory()) {
    throw new DiagnosticError(error('nixpack/source-not-directory', `source ${JSON.stringify(display)} is not a directory`, location, 'vars.source names the service directory, not a file in it'));
  }
  checkVars(vars, location);
  const app = new SourceTree(sourceDir, display);
  const dockerfileEscape = opts.dockerfileEscape === true;
  const hit = detectIn(app, dockerfileEscape);
  if (!hit) {
    const hasDockerfile = !dockerfileEscape && app.hasFile('Dockerfile');
    throw new DiagnosticError(
      error(
        'nixpack/no-provider',
        `no build provider matches source ${JSON.stringify(display)}`,
        location,
        (hasDockerfile ? 'it has a Dockerfile: set settings.nixpack.dockerfile_escape: true to build it; ' : '') + providerHint(),
      ),
    );
  }
  const [provider, detection] = hit;
  const plan = provider.plan(app, detection);
  return canonicalPlan(applyOverrides(plan, vars, location));
}

/** The plan as printed by `build --plan` (stable: same tree ⇒ same bytes). */
export function planToJson(plan: BuildPlan): string {
  return `${JSON.stringify(canonicalPlan(plan), null, 2)}\n`;
}

/**
 * The test command: vars.test_cmd, else the provider default (node: `npm test`, or
 * `yarn test` / `pnpm test` by lockfile; go: `go test ./...`; python: `python -m pytest`;
 * static and dockerfile: none → undefined). An empty test_cmd means "no tests".
 */
export function testCommand(plan: BuildPlan, vars: NixpackVars): string | undefined {
  if (typeof vars.test_cmd === 'string') return vars.test_cmd.trim() === '' ? undefined : vars.test_cmd;
  switch (plan.providers[0]) {
    case 'node':
      return `${planPackageManager(plan)} test`;
    case 'go':
      return 'go test ./...';
    case 'python':
      return 'python -m pytest';
    default:
      return undefined;
  }
}

/**
 * What the built image runs from: the paths (relative to the build workspace; '.' = all
 * of it) put into the image, each at the same relative path under `workdir`, and the
 * working directory inside the image. node/python/go: the whole app at /app (python's
 * venv lives at /opt/venv, listed in `outside`); static: only the site root (public/,
 * dist/ or .) under /app, which the Caddyfile serves. dockerfile: the whole build
 * context; the Dockerfile's own WORKDIR applies ('/' is Docker's default).
 */
export function imageContent(plan: BuildPlan): { include: string[]; workdir: string; outside?: string[] } {
  const provider = plan.providers[0];
  if (provider === 'dockerfile') return { include: ['.'], workdir: '/' };
  const include = plan.start.onlyIncludeFiles?.length ? plan.start.onlyIncludeFiles.map((p) => (p === '.' ? p : `${p.replace(/\/+$/, '')}/**`)) : ['.'];
  const outside = Object.values(plan.phases)
    .flatMap((ph) => ph.paths ?? [])
    .filter((p) => !p.startsWith(`${APP_DIR}/`) && p !== APP_DIR)
    .map((p) => p.replace(/\/bin$/, ''));
  return outside.length ? { include, workdir: APP_DIR, outside: [...new Set(outside)].sort() } : { include, workdir: APP_DIR };
}
