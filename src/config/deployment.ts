/**
 * The deployment file (SPEC 3): schema (zod, strict), names, promotion rules, and the
 * loader that turns `deployments/<name>.yaml` into a validated {@link DeploymentConfig}
 * whose values keep their positions.
 */
import path from 'node:path';
import { z } from 'zod';
import { DiagnosticBag, DiagnosticError, choicesHint, didYouMean, error, formatLocation, type Diagnostic, type Location } from '../diagnostics/index.js';
import { keyLocOf, locOf } from '../yaml/index.js';
import type { AtmosConfig } from './atmos.js';
import { YamlFileCache } from './files.js';
import { checkComponentName, checkComponentRefLength, checkKebabName, refPrefixCollisions } from './names.js';
import { parseWithSchema } from './zod-diagnostics.js';
import { normaliseDeploymentDocument } from './short-form.js';
import { envListSchema, secretListSchema } from '../secrets/index.js';

// Schemas are used once per process: interpreting them beats compiling them.
z.config({ jitless: true });

const anyMap = z.record(z.string(), z.unknown());
const stringMap = z.record(z.string(), z.string());
const stringList = z.array(z.string());

const stackEntry = z.union([z.string(), z.strictObject({ path: z.string(), skip_if_missing: z.boolean().optional(), context: anyMap.optional() })]);

/**
 * Step hooks (SPEC 8): `steps.before_<stage>` / `after_<stage>` entries, each a registered
 * module (`uses`) with its inputs (`with`, checked against the module's schema once modules
 * are known: src/hooks). The stages a component type has, by the built-in pipelines' stage
 * names: Terraform `plan` (plan) and `apply` (rollout), nixpack `build` and `test`.
 */
export const HOOK_STAGES = { terraform: ['plan', 'apply'], nixpack: ['build', 'test'] } as const;

/**
 * The hook stage of a component of a type a module declares: `artifact`, the stage that
 * builds it (in build, plan and rollout). Its own `steps:` only: a deployment's or a target's
 * hooks are the built-in types' stages.
 */
export const DECLARED_HOOK_STAGES = ['artifact'] as const;

const stepRef = z.strictObject({
  uses: z.string(),
  name: z.string().optional(),
  with: anyMap.optional(),
});

/** `before_<stage>` and `after_<stage>` for each stage, every one optional. */
function hooksOf(stages: readonly string[]) {
  return z.strictObject(Object.fromEntries(stages.flatMap((s) => [`before_${s}`, `after_${s}`]).map((k) => [k, z.array(stepRef).optional()])));
}

const terraformHooks = hooksOf(HOOK_STAGES.terraform);
const nixpackHooks = hooksOf(HOOK_STAGES.nixpack);
const declaredHooks = hooksOf(DECLARED_HOOK_STAGES);
/** Hooks of a target or the deployment: each applies to every component whose type has the stage. */
const sharedHooks = hooksOf([...new Set(Object.values(HOOK_STAGES).flat())]);

/** A `steps:` section: hook key (`after_apply`) → entries. */
export type StepHooks = Partial<Record<string, z.infer<typeof stepRef>[]>>;

const componentMetadata = z.strictObject({
  component: z.string().optional(),
  description: z.string().optional(),
  labels: stringMap.optional(),
  depends_on: stringList.optional(),
  inherits: stringList.optional(),
  enabled: z.boolean().optional(),
});

const nixpackMetadata = z.strictObject({
  description: z.string().optional(),
  labels: stringMap.optional(),
  depends_on: stringList.optional(),
  enabled: z.boolean().optional(),
});

const imageSpec = z.strictObject({
  registry: z.string().optional(),
  name: z.string(),
  tag: z.union([z.string(), z.number()]).optional(),
});

const nixpackVars = z.strictObject({
  source: z.string(),
  provider: z.enum(['node', 'go', 'python', 'static', 'dockerfile']).optional(),
  install_cmd: z.string().optional(),
  build_cmd: z.string().optional(),
  start_cmd: z.string().optional(),
  test_cmd: z.string().optional(),
  pkgs: stringList.optional(),
  apt_pkgs: stringList.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  image: imageSpec,
});

const nixpackSettings = z.strictObject({
  nixpack: z
    .strictObject({
      publish: z.boolean().optional(),
      dockerfile_escape: z.boolean().optional(),
      base_image: z.string().optional(),
      sbom: z.strictObject({ formats: z.array(z.enum(['cyclonedx-json', 'spdx-json'])).optional() }).optional(),
    })
    .optional(),
});

const nixpackComponent = z.strictObject({
  metadata: nixpackMetadata.optional(),
  vars: nixpackVars,
  settings: nixpackSettings.optional(),
  steps: nixpackHooks.optional(),
  secrets: secretListSchema.optional(),
});

const terraformComponent = z.strictObject({
  metadata: componentMetadata.optional(),
  vars: anyMap.optional(),
  settings: anyMap.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  secrets: secretListSchema.optional(),
  steps: terraformHooks.optional(),
});

const promotion = z.strictObject({
  from: z.string().optional(),
  allowed_from: stringList.optional(),
  requires_approval: z.boolean().optional(),
});

const approval = z.strictObject({
  distinct_approver: z.boolean().optional(),
});

const target = z.strictObject({
  description: z.string().optional(),
  labels: stringMap.optional(),
  context: anyMap.optional(),
  stacks: z.array(stackEntry).optional(),
  promotion: promotion.optional(),
  approval: approval.optional(),
  env: envListSchema.optional(),
  secrets: secretListSchema.optional(),
  steps: sharedHooks.optional(),
});

const vendorComponent = z.strictObject({
  component: z.string(),
  source: z.string(),
  version: z.union([z.string(), z.number()]).optional(),
  labels: z.record(z.string(), z.union([z.string(), stringList])).optional(),
  included_paths: stringList.optional(),
  excluded_paths: stringList.optional(),
});

/** The component types every deployment knows; modules declare more ({@link DeclaredComponentType}). */
const builtinComponents = {
  nixpack: z.record(z.string(), nixpackComponent).optional(),
  terraform: z.record(z.string(), terraformComponent).optional(),
};

/** A component of a type a module declares: metadata and settings as a nixpack component's, vars by the module's schema, hooks of its `artifact` stage. */
function declaredComponent(type: DeclaredComponentType) {
  return z.strictObject({ metadata: nixpackMetadata.optional(), vars: type.vars, settings: anyMap.optional(), steps: declaredHooks.optional() });
}

const deploymentBody = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  labels: stringMap.optional(),
  stacks: z.array(stackEntry).optional(),
  env: envListSchema.optional(),
  secrets: secretListSchema.optional(),
  context: z
    .strictObject({
      default_target: z.string().optional(),
      promote_by: z.enum(['digest', 'tag']).optional(),
    })
    .optional(),
  approval: approval.optional(),
  steps: sharedHooks.optional(),
  vendor: z
    .strictObject({
      components: z.array(vendorComponent).optional(),
      manifest: z.string().optional(),
      auto_discover: z.boolean().optional(),
    })
    .optional(),
  // Not strict: a key naming no component type is reported by loadDeploymentFile, with the known types.
  components: z.object(builtinComponents).optional(),
  targets: z.record(z.string(), target),
});

const deploymentFileSchema = z.strictObject({ deployment: deploymentBody });

/**
 * A component type a module declares (SPEC 8), as loading and resolution need it: the key
 * under `components:`, the module declaring it, the schema of a component's `vars` (applied to
 * the values as written, positions kept) and the outputs a template may name.
 */
export interface DeclaredComponentType {
  name: string;
  module: string;
  vars: z.ZodType;
  outputs: readonly string[];
  /** The var naming the directory a component is built from, if any (checked like a nixpack source). */
  source?: string;
}

/** A component of a declared type, as written in the deployment file. */
export interface DeclaredComponentConfig {
  metadata?: z.infer<typeof nixpackMetadata>;
  vars: unknown;
  settings?: Record<string, unknown>;
  steps?: StepHooks;
}

/** The file schema with the declared component types' components. */
function fileSchemaFor(types: readonly DeclaredComponentType[]) {
  if (types.length === 0) return deploymentFileSchema;
  const declared = Object.fromEntries(types.map((t) => [t.name, z.record(z.string(), declaredComponent(t)).optional()]));
  return z.strictObject({ deployment: deploymentBody.extend({ components: z.object({ ...builtinComponents, ...declared }).optional() }) });
}

/** Every key of `components:` that names no component type: a located error with the known types. */
function unknownComponentTypes(root: unknown, types: readonly DeclaredComponentType[]): Diagnostic[] {
  const components = (root as { deployment?: { components?: unknown } } | null)?.deployment?.components;
  if (components === null || typeof components !== 'object' || Array.isArray(components)) return [];
  const known = ['terraform', 'nixpack', ...types.map((t) => t.name)];
  const listed = ['terraform', 'nixpack', ...types.map((t) => `${t.name} (module ${t.module})`)].join(', ');
  return Object.keys(components)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const guess = didYouMean(k, known);
      return error(
        'deployment/unknown-component-type',
        `unknown component type "${k}" in deployment.components`,
        keyLocOf(components, k),
        `${guess ? `did you mean "${guess}"? ` : ''}component types: ${listed}; a module declares more (componentType in defineModule)`,
      );
    });
}

/** The components of declared types in a deployment, by type (types the deployment does not use are absent). */
export function declaredComponents(dep: DeploymentConfig): { type: DeclaredComponentType; components: Record<string, DeclaredComponentConfig> }[] {
  const all = (dep.body.components ?? {}) as Record<string, unknown>;
  return (dep.componentTypes ?? []).filter((t) => all[t.name]).map((type) => ({ type, components: all[type.name] as Record<string, DeclaredComponentConfig> }));
}

export type DeploymentBody = z.infer<typeof deploymentBody>;
export type TargetConfig = z.infer<typeof target>;
export type TerraformComponentConfig = z.infer<typeof terraformComponent>;
export type NixpackComponentConfig = z.infer<typeof nixpackComponent>;
export type StackEntry = z.infer<typeof stackEntry>;

/** A validated deployment file. Values are the parsed YAML (positions kept, see src/yaml). */
export interface DeploymentConfig {
  name: string;
  /** Absolute path of the file. */
  abs: string;
  /** Repository-relative path (used in locations). */
  file: string;
  body: DeploymentBody;
  /** Where `deployment:` starts. */
  location: Location;
  /** Non-fatal findings (e.g. unused context keys are added later by resolve). */
  warnings: Diagnostic[];
  /** Written in the short form (./short-form.ts): `body` is its long form. */
  shortForm?: boolean;
  /** The component types of modules it was validated with (beyond terraform and nixpack): what resolution expands. */
  componentTypes?: readonly DeclaredComponentType[];
  /** `--context k=v` applied over the target's context (config/context-overrides.ts); recorded in a release made with them. */
  contextOverrides?: Record<string, unknown>;
}

export { listDeploymentFiles, findDeploymentFile } from './deployment-files.js';

/** Check a target name given on the command line against the deployment's targets. */
export function checkTargetArg(dep: DeploymentConfig, targetName: string): void {
  const problem = checkKebabName(targetName);
  const names = Object.keys(dep.body.targets);
  if (problem) {
    throw new DiagnosticError(error('args/target-name', `invalid target "${targetName}": ${problem}`, undefined, `valid values: ${names.join(', ')}`));
  }
  if (!names.includes(targetName)) {
    throw new DiagnosticError(error('args/unknown-target', `--target ${targetName}: deployment "${dep.name}" has no target "${targetName}"`, undefined, choicesHint(targetName, names)));
  }
}

/**
 * Load, parse and validate one deployment file, with the component types the given modules
 * declare. Throws a DiagnosticError listing every problem.
 */
export function loadDeploymentFile(cfg: AtmosConfig, abs: string, files = new YamlFileCache(cfg.repoRoot), types: readonly DeclaredComponentType[] = []): DeploymentConfig {
  const f = files.loadValid(abs);
  const file = f.file;
  const top: Location = { file, line: 1, col: 1 };
  const expectedName = path.basename(abs).replace(/\.ya?ml$/, '');
  if (f.value === null || f.value === undefined) {
    throw new DiagnosticError(error('deployment/empty', 'the deployment file is empty', top, `start it with:\ndeployment:\n  name: ${expectedName}\n  targets:\n    dev: {}`));
  }
  // The short form (no `deployment:` wrapper, components as lists of names) means the long form: normalised first.
  const normal = normaliseDeploymentDocument(
    cfg,
    f.value,
    top,
    types.map((t) => t.name),
  );
  if (normal.diagnostics.length) throw new DiagnosticError(normal.diagnostics);
  const parsed = parseWithSchema(fileSchemaFor(types), normal.value, top, 'deployment');
  const badTypes = unknownComponentTypes(normal.value, types);
  if (!parsed.ok || badTypes.length) throw new DiagnosticError([...badTypes, ...(parsed.ok ? [] : parsed.diagnostics)]);
  const root = normal.value as Record<string, unknown>;
  const body = parsed.data.deployment;
  const bag = new DiagnosticBag();
  const depLoc = locOf(root, 'deployment') ?? top;

  // Names.
  const nameProblem = checkKebabName(body.name);
  if (nameProblem) bag.error('deployment/name', `deployment name "${body.name}" ${nameProblem}`, locOf(body, 'name'), 'use a name like "payment-service"');
  else if (body.name !== expectedName) {
    bag.error(
      'deployment/name-mismatch',
      `deployment name "${body.name}" must equal the file name "${expectedName}"`,
      locOf(body, 'name'),
      `rename the file to ${body.name}.yaml or set name: ${expectedName}`,
    );
  }
  const targetNames = Object.keys(body.targets);
  if (targetNames.length === 0) bag.error('deployment/no-targets', 'a deployment needs at least one target', locOf(body, 'targets') ?? depLoc, 'add e.g. `targets: { dev: {} }`');
  for (const t of targetNames) {
    const p = checkKebabName(t);
    if (p) bag.error('deployment/target-name', `target name "${t}" ${p}`, keyLocOf(body.targets, t), 'targets look like dev, staging, prod');
  }
  for (const type of ['terraform', 'nixpack', ...types.map((t) => t.name)]) {
    const comps = (body.components as Record<string, Record<string, unknown> | undefined> | undefined)?.[type];
    if (!comps) continue;
    for (const c of Object.keys(comps)) {
      const p = checkComponentName(c) ?? targetNames.map((t) => checkComponentRefLength(body.name, t, c)).find(Boolean);
      if (p) bag.error('deployment/component-name', `component name "${c.length > 60 ? `${c.slice(0, 60)}…` : c}" ${p}`, keyLocOf(comps, c), 'component names look like "ecs/service-api"');
    }
  }
  // Terraform components get refs `refs/atmos/deployments/<d>/<t>/<name>`: `vpc` beside `vpc/sub` cannot both exist.
  const tfComps = body.components?.terraform ?? {};
  for (const [short, long] of refPrefixCollisions(Object.keys(tfComps))) {
    const other = keyLocOf(tfComps, short);
    bag.error(
      'deployment/component-ref-collision',
      `terraform component "${long}" collides with terraform component "${short}"${other ? ` (${formatLocation(other)})` : ''}: their Git refs refs/atmos/deployments/${body.name}/<target>/${short} and …/${long} cannot both exist (a ref cannot be a file and a directory)`,
      keyLocOf(tfComps, long),
      `rename one of them, e.g. "${short.replace(/[^/]+$/, (s) => `${s}-main`)}" or "${long.replace(/\//g, '-')}"`,
    );
  }
  const dt = body.context?.default_target;
  if (dt !== undefined && !targetNames.includes(dt)) {
    bag.error('deployment/default-target', `context.default_target "${dt}" is not a target`, locOf(body.context, 'default_target'), choicesHint(dt, targetNames));
  }

  checkPromotionRules(body, bag);
  bag.throwIfErrors();
  return { name: body.name, abs, file, body, location: depLoc, warnings: [], ...(normal.short ? { shortForm: true } : {}), ...(types.length ? { componentTypes: types } : {}) };
}

/** SPEC 3 promotion rules: from/allowed_from exclusive, sources exist, paths acyclic. */
function checkPromotionRules(body: DeploymentBody, bag: DiagnosticBag): void {
  const targetNames = Object.keys(body.targets);
  const sources = new Map<string, { src: string; loc?: Location }[]>();
  for (const [t, cfg] of Object.entries(body.targets)) {
    const p = cfg.promotion;
    if (!p) continue;
    const list: { src: string; loc?: Location }[] = [];
    if (p.from !== undefined && p.allowed_from !== undefined) {
      bag.error(
        'deployment/promotion-exclusive',
        `targets.${t}.promotion: "from" and "allowed_from" are mutually exclusive`,
        keyLocOf(p, 'allowed_from'),
        'use "from" for one source or "allowed_from" for several',
      );
    }
    if (p.from !== undefined) list.push({ src: p.from, loc: locOf(p, 'from') });
    for (const [i, s] of (p.allowed_from ?? []).entries()) list.push({ src: s, loc: locOf(p.allowed_from, i) });
    if (p.from === undefined && p.allowed_from === undefined && p.requires_approval === undefined) continue;
    for (const s of list) {
      if (s.src === t) bag.error('deployment/promotion-self', `target "${t}" cannot promote from itself`, s.loc);
      else if (!targetNames.includes(s.src))
        bag.error(
          'deployment/promotion-source',
          `targets.${t}.promotion: unknown source target "${s.src}"`,
          s.loc,
          choicesHint(
            s.src,
            targetNames.filter((n) => n !== t),
          ),
        );
    }
    sources.set(
      t,
      list.filter((s) => targetNames.includes(s.src) && s.src !== t),
    );
  }
  // Cycle detection over "t promotes from s" edges: report the first edge of the cycle.
  const state = new Map<string, 0 | 1 | 2>();
  const stack: string[] = [];
  const visit = (t: string): boolean => {
    state.set(t, 1);
    stack.push(t);
    for (const s of sources.get(t) ?? []) {
      const st = state.get(s.src) ?? 0;
      if (st === 1) {
        const cycle = [...stack.slice(stack.indexOf(s.src)), s.src];
        const first = cycle[0];
        const firstEdge = (sources.get(first) ?? []).find((x) => x.src === cycle[1]);
        bag.error(
          'deployment/promotion-cycle',
          `promotion paths form a cycle: ${cycle.join(' ← ')}`,
          firstEdge?.loc ?? s.loc,
          'promotion must flow one way (e.g. dev → staging → prod); remove one of these "from" entries',
        );
        return true;
      }
      if (st === 0 && visit(s.src)) return true;
    }
    stack.pop();
    state.set(t, 2);
    return false;
  };
  for (const t of targetNames) if ((state.get(t) ?? 0) === 0 && visit(t)) break;
}
