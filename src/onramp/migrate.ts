/**
 * `atmos-pipe migrate --from-stack <stack> --name <n>`: a deployment file from an existing
 * Atmos top-level stack, resolving to exactly what Atmos resolves for that stack.
 *
 * Two layouts, the first one that is exact wins:
 *
 *  1. `imports`: the deployment lists the stack file's own imports (as base-relative paths)
 *     and carries, per component, what the stack file itself adds on top of them (its root
 *     `vars`/`settings`/`env`, its components' sections, its `overrides`): the top-level keys of
 *     `vars`, `settings` and `env` whose resolved value differs, and the component's own
 *     `metadata.component`/`inherits`. The parent stack file is then no longer needed.
 *  2. `stack`: the target lists the stack file itself (`targets.<t>.stacks`), the deployment
 *     names the components; identical by construction (SPEC 3.1).
 *
 * "Exact" is checked, not assumed: the candidate deployment is resolved by the library (as
 * `describe` resolves it) and compared component by component with the stack's own resolution
 * — module, vars, settings, env, backend, providers, workspace and command. Anything that
 * cannot be carried (abstract and disabled components, helmfile components, a file the
 * `imports` layout cannot express) is reported.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { displayPath } from '../config/files.js';
import { loadDeploymentFile, type DeploymentConfig } from '../config/deployment.js';
import { describe, type DescribedComponent } from '../describe/index.js';
import { refPrefixCollisions } from '../config/names.js';
import { DiagnosticError, didYouMean, error, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { resolveDeployment } from '../resolve/index.js';
import { stackLoadOptions } from '../resolve/stack-config.js';
import { loadStack, resolveComponent } from '../stacks/index.js';
import { listStackFiles } from '../stacks/all.js';
import { hasStackExtension } from '../stacks/imports.js';
import { stackNames } from '../stacks/names.js';
import { isPlainMap } from '../yaml/index.js';

export interface MigrateOptions {
  /** A stack name as Atmos derives it, or a stack file path (under the stacks base path or the repository). */
  fromStack: string;
  name: string;
  /** The target the stack becomes (default `dev`... the caller decides). */
  target: string;
  /** Only these components (default: every deployable terraform component of the stack). */
  components?: string[];
  /** Where the file will be written (repository-relative), for the locations of problems found in it. */
  file: string;
}

export interface MigrateResult {
  /** The stack file (repository-relative). */
  stackFile: string;
  layout: 'imports' | 'stack';
  /** Why the `imports` layout was not used. */
  layoutReason?: string;
  /** The deployment file's text. */
  text: string;
  components: string[];
  /** What was not carried, one line each. */
  report: string[];
}

/** Where a stack given on the command line lives: its path under the stacks base path. */
export function findStackFile(repo: Repository, arg: string): string {
  const cfg = repo.config;
  const opts = stackLoadOptions(cfg);
  const all = listStackFiles({ ...opts, included: ['**/*'], excluded: [] }).map((abs) => path.relative(cfg.stacksBasePath, abs).split(path.sep).join('/'));
  const clean = arg.replace(/\\/g, '/').replace(/^\.\//, '');
  const base = path.relative(cfg.repoRoot, cfg.stacksBasePath).split(path.sep).join('/');
  const underBase = base && clean.startsWith(`${base}/`) ? clean.slice(base.length + 1) : clean;
  for (const cand of [underBase, ...['.yaml', '.yml', '.yaml.tmpl', '.yml.tmpl'].map((e) => underBase + e)]) if (all.includes(cand)) return cand;
  const named = stackNames(opts, cfg.stackNaming, repo.files).filter((s) => s.name === arg);
  if (named.length === 1) return named[0].path;
  if (named.length > 1) {
    throw new DiagnosticError(
      error('args/from-stack', `--from-stack ${arg}: the name is given to ${named.length} stack files (${named.map((n) => n.path).join(', ')})`, undefined, 'give the stack file path instead'),
    );
  }
  const names = [...new Set(stackNames(opts, cfg.stackNaming, repo.files).map((s) => s.name))].sort();
  const stems = all.map((f) => f.replace(/\.(ya?ml)(\.tmpl)?$/, ''));
  const guess = didYouMean(arg, [...names, ...stems]);
  throw new DiagnosticError(
    error(
      'args/from-stack',
      `--from-stack ${arg}: no such stack (neither a stack name nor a file under ${base || '.'}/)`,
      undefined,
      `${guess ? `did you mean "${guess}"? ` : ''}${names.length ? `stacks: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, … (${names.length})` : ''}` : 'no stack files found'}`,
    ),
  );
}

type Body = Record<string, unknown>;

/** The deployment file text for a body. */
function render(body: Body, from: string, layout: string, target: string): string {
  let head = `# Generated by \`atmos-pipe migrate --from-stack ${from}\` (layout: ${layout}).\n# \`atmos-pipe describe ${String(body.name)} --target ${target} --format json\` resolves to what Atmos resolves for that stack.\n`;
  if (layout === 'imports') {
    head += `# The components' vars were carried from that stack (target ${target}): when adding targets, move the values\n# that differ per target to targets.<t>.context or to a target's own stacks:.\n`;
  }
  return head + stringify({ deployment: body }, { lineWidth: 0 });
}

/**
 * Resolve a candidate deployment in memory: its text in a temporary file outside the
 * repository. A problem is reported at the generated file's line, named as it would be written.
 */
async function resolveBody(repo: Repository, body: Body, target: string, text: string, as: string): Promise<Map<string, DescribedComponent>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-migrate-'));
  const abs = path.join(dir, `${String(body.name)}.yaml`);
  try {
    writeFileSync(abs, text);
    const dep: DeploymentConfig = loadDeploymentFile(repo.config, abs, repo.files);
    const resolved = await resolveDeployment(repo.config, dep, target, { files: repo.files });
    const d = describe(resolved, {});
    return new Map(d.components.filter((c) => c.type === 'terraform').map((c) => [c.name, c]));
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    const tmp = displayPath(repo.config.repoRoot, abs);
    const where = (d: Diagnostic): Diagnostic => (d.location?.file === tmp ? { ...d, location: { ...d.location, file: `${as} (as generated)` } } : d);
    throw new DiagnosticError(e.diagnostics.map(where));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const COMPARED = ['component', 'vars', 'settings', 'env', 'backend_type', 'backend', 'providers', 'workspace', 'command'] as const;
const json = (v: unknown) => JSON.stringify(v ?? null);

/** The fields of two resolutions that differ. */
function differences(a: DescribedComponent | undefined, b: DescribedComponent | undefined): string[] {
  if (!a || !b) return ['(missing)'];
  const out: string[] = [];
  for (const k of COMPARED) {
    const x = (a as unknown as Body)[k];
    const y = (b as unknown as Body)[k];
    if (json(x) === json(y)) continue;
    // For a map, the keys that differ (`vars.tags`), so the report says what to look at.
    if (isPlainMap(x) && isPlainMap(y)) out.push(...[...new Set([...Object.keys(x), ...Object.keys(y)])].filter((kk) => json(x[kk]) !== json(y[kk])).map((kk) => `${k}.${kk}`));
    else out.push(k);
  }
  return out;
}

/** Whether a value is plain data (survives YAML as written): no deferred outputs, no special objects. */
function plain(v: unknown): boolean {
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return true;
  if (Array.isArray(v)) return v.every(plain);
  if (isPlainMap(v)) return Object.values(v).every(plain);
  return false;
}

export async function migrate(repo: Repository, o: MigrateOptions): Promise<MigrateResult> {
  const cfg = repo.config;
  const stackRel = findStackFile(repo, o.fromStack);
  const stackAbs = path.join(cfg.stacksBasePath, stackRel);
  const stackFile = displayPath(cfg.repoRoot, stackAbs);
  const stackEntry = stackRel.replace(/\.(ya?ml)(\.tmpl)?$/, '');
  const opts = stackLoadOptions(cfg);
  const stack = loadStack([{ path: stackRel, location: { file: stackFile, line: 1, col: 1 } }], opts, repo.files);
  const report: string[] = [];
  for (const h of stack.componentNames.helmfile) report.push(`helmfile/${h}: helmfile components are not deployed by atmos-pipe (left in the stack)`);

  const all = stack.componentNames.terraform;
  if (o.components?.length) {
    for (const c of o.components) {
      if (!all.includes(c)) {
        const g = didYouMean(c, all);
        throw new DiagnosticError(
          error(
            'args/component',
            `--component ${c}: the stack ${stackFile} has no terraform component "${c}"`,
            undefined,
            `${g ? `did you mean "${g}"? ` : ''}components: ${all.join(', ') || '(none)'}`,
          ),
        );
      }
    }
  }
  const chosen: string[] = [];
  for (const name of o.components?.length ? o.components : all) {
    const c = resolveComponent(stack, 'terraform', name);
    if (c.abstract) report.push(`terraform/${name}: abstract (metadata.type: abstract): a base for others, never deployed; skipped`);
    else if (!c.enabled) report.push(`terraform/${name}: disabled (metadata.enabled: false); skipped`);
    else chosen.push(name);
  }
  // Component names become Git refs: `vpc` and `vpc/flow-logs` cannot both be in one deployment.
  for (const [short, long] of refPrefixCollisions(chosen)) {
    if (!chosen.includes(long) || !chosen.includes(short)) continue;
    chosen.splice(chosen.indexOf(long), 1);
    report.push(`terraform/${long}: its name nests under terraform/${short} (their Git refs would collide); skipped: migrate it into a deployment of its own with --component ${long}`);
  }
  if (!chosen.length) {
    throw new DiagnosticError(
      error('migrate/no-components', `the stack ${stackFile} has no deployable terraform component`, undefined, report.length ? report.join('; ') : 'define components under components.terraform'),
    );
  }

  // Layout 2 (the reference): the stack file itself, for the target.
  // A component deploying another module says so in the deployment too (its module is checked before the stacks are read).
  const modules = new Map(chosen.map((n) => [n, resolveComponent(stack, 'terraform', n).component]));
  const named = (n: string): Body => (modules.get(n) !== n ? { metadata: { component: modules.get(n) } } : {});
  const stackBody: Body = {
    name: o.name,
    components: { terraform: Object.fromEntries(chosen.map((n) => [n, named(n)])) },
    targets: { [o.target]: { stacks: [stackEntry] } },
  };
  const reference = await resolveBody(repo, stackBody, o.target, render(stackBody, o.fromStack, 'stack', o.target), o.file);

  // Layout 1: the stack file's imports, and what the file adds carried per component.
  const tried = await tryImportsLayout(repo, o, stackRel, stackAbs, chosen, reference, modules);
  if (tried.body) {
    return { stackFile, layout: 'imports', text: render(tried.body, o.fromStack, 'imports', o.target), components: chosen, report };
  }
  return { stackFile, layout: 'stack', layoutReason: tried.reason, text: render(stackBody, o.fromStack, 'stack', o.target), components: chosen, report };
}

async function tryImportsLayout(
  repo: Repository,
  o: MigrateOptions,
  stackRel: string,
  stackAbs: string,
  chosen: string[],
  reference: Map<string, DescribedComponent>,
  modules: Map<string, string>,
): Promise<{ body?: Body; reason?: string }> {
  const root = repo.files.loadValid(stackAbs).value;
  if (!isPlainMap(root)) return { reason: 'the stack file is not a mapping' };
  if (stackRel.endsWith('.tmpl')) return { reason: 'the stack file is a template' };
  const raw = root.import === undefined ? [] : typeof root.import === 'string' ? [root.import] : root.import;
  if (!Array.isArray(raw)) return { reason: 'its import: is not a list' };
  const stacks: (string | { path: string; skip_if_missing: boolean })[] = [];
  for (const e of raw) {
    const spec = typeof e === 'string' ? { path: e } : isPlainMap(e) ? (e as { path?: unknown; skip_if_missing?: unknown; context?: unknown }) : undefined;
    if (!spec || typeof spec.path !== 'string') return { reason: 'an import entry is not a path' };
    if ('context' in spec || Object.keys(spec).some((k) => !['path', 'skip_if_missing'].includes(k)))
      return { reason: `the import "${spec.path}" has a context or options a deployment's stacks: cannot carry` };
    if (spec.path.includes('{{')) return { reason: `the import "${spec.path}" is a template` };
    let p = spec.path;
    if (p.startsWith('./') || p.startsWith('../')) {
      p = path.posix.normalize(path.posix.join(path.posix.dirname(stackRel), p));
      if (p.startsWith('../')) return { reason: `the import "${spec.path}" leaves the stacks directory` };
    }
    if (hasStackExtension(p)) p = p.replace(/\.(ya?ml)$/, '');
    stacks.push(spec.skip_if_missing === true ? { path: p, skip_if_missing: true } : p);
  }
  // The stack file's own definition of each component: its module and inheritance travel with it.
  const own = isPlainMap(root.components) && isPlainMap(root.components.terraform) ? (root.components.terraform as Record<string, unknown>) : {};
  const components: Record<string, Body> = {};
  for (const n of chosen) {
    const meta = isPlainMap(own[n]) && isPlainMap((own[n] as Body).metadata) ? ((own[n] as Body).metadata as Body) : {};
    const m: Body = {};
    if (typeof meta.component === 'string') m.component = meta.component;
    else if (modules.get(n) !== n) m.component = modules.get(n);
    if (Array.isArray(meta.inherits)) m.inherits = meta.inherits;
    if (meta.enabled === false) m.enabled = false;
    components[n] = Object.keys(m).length ? { metadata: m } : {};
  }
  const body: Body = { name: o.name, ...(stacks.length ? { stacks } : {}), components: { terraform: components }, targets: { [o.target]: {} } };
  let first: Map<string, DescribedComponent>;
  try {
    first = await resolveBody(repo, body, o.target, render(body, o.fromStack, 'imports', o.target), o.file);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return { reason: `its imports alone do not resolve (${e.diagnostics[0]?.message ?? 'error'})` };
  }
  // Carry what differs, by top-level key of vars, settings and env.
  for (const n of chosen) {
    const want = reference.get(n);
    const got = first.get(n);
    if (!want || !got) return { reason: `terraform/${n} does not resolve without the stack file` };
    for (const section of ['vars', 'settings', 'env'] as const) {
      const w = (want[section] ?? {}) as Body;
      const g = (got[section] ?? {}) as Body;
      for (const k of Object.keys(g)) if (!(k in w)) return { reason: `terraform/${n}: ${section}.${k} comes from the imports but not from the stack (a deployment can add, not remove)` };
      const carry: Body = {};
      for (const [k, v] of Object.entries(w)) if (json(v) !== json(g[k])) carry[k] = v;
      if (!Object.keys(carry).length) continue;
      if (!plain(carry)) return { reason: `terraform/${n}: ${section} holds values resolved at run time (outputs of other components)` };
      if (section === 'env' && Object.values(carry).some((v) => typeof v === 'object' && v !== null)) return { reason: `terraform/${n}: env holds a non-scalar value` };
      components[n][section] = carry;
    }
  }
  let second: Map<string, DescribedComponent>;
  try {
    second = await resolveBody(repo, body, o.target, render(body, o.fromStack, 'imports', o.target), o.file);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return { reason: `the carried values do not resolve as written (${e.diagnostics[0]?.message ?? 'error'})` };
  }
  for (const n of chosen) {
    const d = differences(reference.get(n), second.get(n));
    if (d.length) return { reason: `terraform/${n}: without the stack file its ${d.join(', ')} would differ` };
  }
  return { body };
}

/** The deployment file's path for a name (absolute) and whether it exists. */
export function deploymentPath(repo: Repository, name: string, output?: string): { abs: string; file: string; exists: boolean } {
  const abs = output ? path.resolve(repo.config.repoRoot, output) : path.join(repo.config.deploymentsBasePath, `${name}.yaml`);
  return { abs, file: displayPath(repo.config.repoRoot, abs), exists: existsSync(abs) };
}
