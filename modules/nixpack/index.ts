/**
 * The `nixpack` modules (SPEC 5.1, 5.2): a nixpack component (source code) becomes
 *
 *   install (network) → build (no network)   sandboxed steps over a COPY of the source
 *   → image                                  a reproducible OCI image assembled from the
 *                                            build's output tree (in `outputs()`), stored in
 *                                            the local OCI layout `<cache>/images/` and pushed
 *                                            to `image.registry` unless `--skip-push` or
 *                                            `settings.nixpack.publish: false`
 *   test (no network)                        `test_cmd` (or the provider's) against the built tree
 *
 * A Dockerfile escape (`settings.nixpack.dockerfile_escape: true`) is one `docker-build` step
 * instead, which requires the `container-build` capability (an engine without it refuses the
 * step before it runs): the engine builds the Dockerfile over a copy of the source and exports
 * the image as an OCI tarball, which `outputs()` reads into the same layout store and pushes
 * the same way.
 *
 * Every step is content-addressed, so an unchanged service is neither reinstalled, rebuilt
 * nor re-tested; the image of an unchanged build tree is reused from the store.
 *
 * Written against the public module API (`atmos-pipe/module`), as a user's module would be.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import {
  DOCKERFILE,
  DiagnosticError,
  buildContext,
  defineModule,
  error,
  imageContent,
  loadOci,
  makePlan,
  recordImage,
  sha256,
  stepSecrets,
  testCommand,
  writeFileAtomic,
  type Artifact,
  type BuildPlan,
  type BuiltOciImage,
  type Capability,
  type LayerEntry,
  type ModuleContext,
  type NixpackVars,
  type PlanContext,
  type Step,
  type StepInput,
  type StepRequirement,
  type StepResult,
} from 'atmos-pipe/module';

export const nixpackInputs = z.object({}).passthrough();

/** The app's directory inside each step's workspace (each step runs in it). */
const APP = 'app';
/** A step's output: its whole working directory, the app tree (outputs are relative to workdir). */
const TREE = '.';

interface ImageVar {
  registry?: string;
  name: string;
  tag: string;
}

interface NixpackSettings {
  publish: boolean;
  dockerfileEscape: boolean;
  /** `base_image`: the image install, build and test steps run in on an engine with containers. */
  baseImage?: string;
}

/** Where the image of a build's steps is chosen, as the Dagger engine's refusal names it. */
const BASE_IMAGE_SETTING = 'settings.nixpack.base_image: an image holding the runtime, by digest (e.g. node:20-bookworm@sha256:<digest>), since engines with containers do not run the Nix setup phase';

function settingsOf(ctx: PlanContext): NixpackSettings {
  const s = (ctx.component.settings?.nixpack ?? {}) as Record<string, unknown>;
  const base = typeof s.base_image === 'string' && s.base_image ? s.base_image : undefined;
  return { publish: s.publish !== false, dockerfileEscape: s.dockerfile_escape === true, ...(base ? { baseImage: base } : {}) };
}

/**
 * The image install, build and test steps run in on an engine with containers: the one
 * `settings.nixpack.base_image` chooses, else the plan's Nix base. That base holds only Nix:
 * the plan's setup phase (its `nixPkgs`, e.g. nodejs_20) is what installs the runtime, and no
 * step runs it, so a container engine needs an image that already holds the runtime. The
 * Dagger engine refuses the Nix base (pinned by tag) and names the setting. The local engine
 * runs the host's runtime and uses no image.
 */
function stepImage(ctx: PlanContext, plan: BuildPlan): Pick<Step, 'image' | 'imageChosenIn'> {
  return { image: settingsOf(ctx).baseImage ?? plan.buildImage, imageChosenIn: BASE_IMAGE_SETTING };
}

function varsOf(ctx: PlanContext): NixpackVars {
  const v = ctx.component.vars as NixpackVars;
  if (typeof v.source !== 'string' || v.source === '') {
    throw new DiagnosticError(error('nixpack/source-missing', `${ctx.component.address}: vars.source must name the source directory`, ctx.component.location, 'e.g. source: ./services/api'));
  }
  return v;
}

function imageVarOf(ctx: ModuleContext<unknown>): ImageVar {
  const raw = (ctx.component.vars as Record<string, unknown>).image as Record<string, unknown> | undefined;
  const name = typeof raw?.name === 'string' && raw.name ? raw.name : ctx.component.name.replace(/[^a-z0-9._-]+/gi, '-').toLowerCase();
  const tag = raw?.tag === undefined || raw.tag === null ? 'latest' : String(raw.tag);
  const registry = typeof raw?.registry === 'string' && raw.registry ? raw.registry : undefined;
  return { name, tag, ...(registry ? { registry } : {}) };
}

/** The source directory: the one resolution checked (inside the repository, relative to base_path). */
function sourceDirOf(ctx: PlanContext): string {
  return ctx.component.sourceDir ?? path.resolve(ctx.repoRoot, varsOf(ctx).source);
}

/** The plan of a component (also what `build --plan` prints). */
export function planOf(ctx: PlanContext): BuildPlan {
  const vars = varsOf(ctx);
  const dir = sourceDirOf(ctx);
  return makePlan(dir, vars, { dockerfileEscape: settingsOf(ctx).dockerfileEscape, location: ctx.component.location });
}

/**
 * The source tree as a content-addressed artifact: the build context (what Git would ship,
 * minus `.dockerignore`d paths; src/nixpack/context.ts), symlinks inside the repository
 * followed, symlinks leaving it refused.
 */
function sourceArtifact(ctx: ModuleContext<unknown>): Artifact {
  const dir = sourceDirOf(ctx);
  const context = buildContext(dir, ctx.repoRoot);
  return { kind: 'dir', digest: ctx.cas.putDir(dir, { files: context.files, exclude: context.exclude, within: ctx.repoRoot }) };
}

function stepEnv(plan: BuildPlan, ctx: ModuleContext<unknown>): Record<string, string> {
  // Declared plain env (deployment, target, atmos.yaml) under the plan's own variables.
  const declared = Object.fromEntries(Object.entries(ctx.component.env ?? {}).map(([k, v]) => [k, String(v)]));
  // HOME in the step's private /tmp: package managers write their caches there, never in ~.
  return { ...declared, ...plan.variables, HOME: '/tmp', CI: 'true', npm_config_update_notifier: 'false' };
}

/**
 * Commands a build step's shell usually runs besides argv[0], by runtime (e.g. nodejs_20): an
 * engine of host processes makes their install directories visible in its sandbox when they
 * live outside /usr (e.g. a CI runner's /opt/hostedtoolcache/node/20/x64).
 */
const RUNTIME_COMMANDS: [RegExp, string[]][] = [
  [/^node/, ['node', 'npm', 'npx', 'yarn', 'pnpm', 'corepack']],
  [/^python/, ['python3', 'python', 'pip3', 'pip']],
  [/^go/, ['go']],
];

/** The runtime a step runs (any version) and what its shell runs with it. */
function runtime(plan: BuildPlan): Pick<Step, 'tool' | 'hostTool'> {
  const pkgs = plan.phases.setup?.nixPkgs ?? [];
  const tool = { name: pkgs.find((p) => /^(nodejs|go|python)/.test(p)) ?? plan.providers.join('+'), version: '*' };
  const companions = RUNTIME_COMMANDS.find(([re]) => re.test(tool.name))?.[1];
  return { tool, ...(companions ? { hostTool: { companions } } : {}) };
}

/**
 * What a step of a Dockerfile component requires of the engine, and what its refusal says: the
 * build needs an engine that builds container images; the test runs in the image the
 * Dockerfile starts from, which only an engine with containers has (no host tool stands in).
 */
function dockerfileRequirement(ctx: ModuleContext<unknown>, capability: Capability): StepRequirement {
  return {
    capability,
    what: 'builds from a Dockerfile (settings.nixpack.dockerfile_escape: true)',
    code: 'nixpack/dockerfile',
    otherwise: 'drop dockerfile_escape so the build is planned from the source (node, go, python or static)',
    location: ctx.component.location,
  };
}

/** Install and build steps: each over the previous one's tree, the app at `app/`. */
function buildSteps(ctx: ModuleContext<unknown>, plan: BuildPlan): Step[] {
  const c = ctx.component;
  const steps: Step[] = [];
  let tree: StepInput = sourceArtifact(ctx);
  for (const phase of ['install', 'build'] as const) {
    const cmds = plan.phases[phase]?.cmds ?? [];
    if (cmds.length === 0) continue;
    const step: Step = {
      id: ctx.stepId(phase),
      module: `nixpack.${phase}`,
      component: c.address,
      ...stepImage(ctx, plan),
      ...runtime(plan),
      // The commands are the plan's (the user's install_cmd/build_cmd): one shell, `&&`-joined.
      argv: ['sh', '-c', cmds.join(' && ')],
      env: stepEnv(plan, ctx),
      ...stepSecrets(c.credentials),
      inputs: { [APP]: tree },
      outputs: { dirs: [TREE] },
      workdir: APP,
      needs: steps.length ? [steps[steps.length - 1].id] : [],
      network: phase === 'install',
      cache: 'content',
    };
    steps.push(step);
    tree = { step: step.id, output: TREE };
  }
  if (steps.length === 0) {
    // Nothing to install or build (e.g. a static site): a no-op step carries the tree.
    steps.push({
      id: ctx.stepId('build'),
      module: 'nixpack.build',
      component: c.address,
      ...stepImage(ctx, plan),
      argv: ['true'],
      env: {},
      secrets: [],
      inputs: { [APP]: tree },
      outputs: { dirs: [TREE] },
      workdir: APP,
      needs: [],
      network: false,
      cache: 'content',
    });
  }
  return steps;
}

/** The OCI tarball a Dockerfile build leaves (relative to its workdir, the build context). */
const IMAGE_ARCHIVE = 'image.oci.tar';

/**
 * A Dockerfile build: one step that requires `container-build`, whose argv describes the
 * build for the engine (`docker-build`), over a copy of the source as the build context.
 */
function dockerfileSteps(ctx: ModuleContext<unknown>, plan: BuildPlan): Step[] {
  return [
    {
      id: ctx.stepId('docker-build'),
      module: 'nixpack.dockerfile',
      component: ctx.component.address,
      image: plan.buildImage,
      argv: ['docker-build', '--dockerfile', DOCKERFILE, '--output', IMAGE_ARCHIVE],
      env: {},
      secrets: [],
      inputs: { [APP]: sourceArtifact(ctx) },
      outputs: { files: [IMAGE_ARCHIVE] },
      workdir: APP,
      needs: [],
      // A Dockerfile's RUN instructions usually fetch packages.
      network: true,
      cache: 'content',
      requires: [dockerfileRequirement(ctx, 'container-build')],
    },
  ];
}

/** The built tree (the last build step's `app` output). */
function builtTree(results: StepResult[]): Artifact {
  const last = [...results].reverse().find((r) => r.outputs[TREE]);
  if (!last) throw new Error('the build produced no app tree');
  return last.outputs[TREE];
}

export interface BuiltImageOutputs extends Record<string, unknown> {
  /** What Terraform receives: `registry/name@sha256:…` (or `name@sha256:…` without a registry). */
  image: string;
  digest: string;
  repository: string;
  tag: string;
  /** With `build --tag`: every tag the image has (its own first). */
  tags?: string[];
  pushed: boolean;
  /** The app tree the image was assembled from. */
  tree: string;
}

/**
 * Assembles (or reuses) the image of a built tree, stores it in the local OCI layout and
 * pushes it when asked. The assembly is keyed by everything that goes into the image, so an
 * unchanged build reuses the stored image without re-packing a byte.
 */
async function imageOf(ctx: ModuleContext<unknown>, plan: BuildPlan, tree: Artifact): Promise<BuiltImageOutputs> {
  const oci = await loadOci();
  const c = ctx.component;
  const img = imageVarOf(ctx);
  const epoch = ctx.options.sourceDateEpoch ?? 0;
  const content = imageContent(plan);
  const workdir = content.workdir;
  const revision = ctx.options.revision;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.labels ?? {})) labels[k] = String(v);
  const annotations: Record<string, string> = {
    'org.opencontainers.image.created': oci.createdFromEpoch(epoch),
    'org.opencontainers.image.base.name': plan.start.runImage ?? plan.buildImage,
    'org.opencontainers.image.title': img.name,
    'org.opencontainers.image.version': img.tag,
    'io.atmos-pipe.deployment': ctx.deployment,
    'io.atmos-pipe.component': c.address,
    ...(revision ? { 'org.opencontainers.image.revision': revision } : {}),
  };
  const env: Record<string, string> = { PATH: `${workdir}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...plan.variables };
  const spec = {
    workingDir: workdir,
    cmd: plan.start.cmd ? ['/bin/sh', '-c', plan.start.cmd] : undefined,
    env,
    labels: { ...labels, ...annotations },
    annotations,
    created: oci.createdFromEpoch(epoch),
  };
  const layoutDir = layoutOf(ctx);
  const key = sha256(JSON.stringify({ v: 1, tree: tree.digest, include: content.include, spec }));
  const memo = path.join(ctx.cacheDir, 'images', 'assembled', `${key.slice('sha256:'.length)}.json`);
  let image: BuiltOciImage | undefined;
  // Reuse the stored image (every blob verified as it is read) unless --no-cache; a corrupt or
  // missing blob is evicted with the memo, and the image is assembled again (same digest).
  if (existsSync(memo) && !ctx.options.noCache) {
    try {
      const { manifestDigest } = JSON.parse(readFileSync(memo, 'utf8')) as { manifestDigest: string };
      image = oci.readFromLayout(layoutDir, manifestDigest);
    } catch (e) {
      if (!(e instanceof oci.LayoutBlobError) && !(e instanceof SyntaxError)) throw e;
      rmSync(memo, { force: true });
      ctx.notice?.(`${e instanceof oci.LayoutBlobError ? e.message : `cache: the image memo ${memo} was unreadable; evicted`}, rebuilding the image of ${c.address}`);
    }
  }
  if (!image) {
    const entries = treeEntries(ctx, tree, content.include, workdir);
    const layer = await oci.layerFromEntries(entries, { epoch });
    image = oci.assembleImage({ ...spec, layers: [layer] });
    const { replaced } = oci.writeToLayout(layoutDir, image, `${img.name}:${img.tag}`);
    for (const d of replaced) ctx.notice?.(`cache: image blob ${d} of the OCI layout ${layoutDir} was corrupt; replaced by the rebuilt one`);
    writeFileAtomic(memo, `${JSON.stringify({ manifestDigest: image.manifestDigest })}\n`);
  }
  return publishImage(ctx, image, tree);
}

/** The local OCI layout store of built images. */
function layoutOf(ctx: ModuleContext<unknown>): string {
  return path.join(ctx.cacheDir, 'images');
}

/**
 * The image a Dockerfile build exported (its `image.oci.tar` output), stored in the local OCI
 * layout under `name:tag` as it is (its digest is the build's), then pushed and recorded like
 * an assembled image. `tree` is the build context (the source).
 */
async function dockerfileImageOf(ctx: ModuleContext<unknown>, results: StepResult[]): Promise<BuiltImageOutputs> {
  const oci = await loadOci();
  const archive = [...results].reverse().find((r) => r.outputs[IMAGE_ARCHIVE])?.outputs[IMAGE_ARCHIVE];
  if (!archive) throw new Error(`the Dockerfile build produced no ${IMAGE_ARCHIVE}`);
  let image: BuiltOciImage;
  try {
    image = await oci.readOciArchive(readFileSync(ctx.cas.pathOf(archive.digest)));
  } catch (e) {
    throw new Error(`the image the Dockerfile build exported cannot be used: ${(e as Error).message}`);
  }
  const img = imageVarOf(ctx);
  oci.writeToLayout(layoutOf(ctx), image, `${img.name}:${img.tag}`);
  return publishImage(ctx, image, sourceArtifact(ctx));
}

/** The tail of every build: push when asked, record the image in the local image store. */
async function publishImage(ctx: ModuleContext<unknown>, image: BuiltOciImage, tree: Artifact): Promise<BuiltImageOutputs> {
  const oci = await loadOci();
  const img = imageVarOf(ctx);
  const settings = settingsOf(ctx);
  const repository = img.registry ? `${img.registry}/${img.name}` : img.name;
  let pushed = false;
  // `build --tag`: the same image (same digest) under further tags, in the store and the registry.
  const extra = (ctx.options.extraTags ?? []).filter((t) => t !== img.tag);
  for (const t of extra) oci.writeToLayout(layoutOf(ctx), image, `${img.name}:${t}`);
  if (img.registry && settings.publish && !ctx.options.skipPush && !ctx.options.dryRun) {
    for (const tag of [img.tag, ...extra]) await oci.pushImage(image, { registry: img.registry, repository: img.name, tag, timeoutSeconds: ctx.options.registryTimeoutSeconds });
    pushed = true;
  }
  const out: BuiltImageOutputs = {
    image: `${repository}@${image.manifestDigest}`,
    digest: image.manifestDigest,
    repository,
    tag: img.tag,
    ...(extra.length ? { tags: [img.tag, ...extra] } : {}),
    pushed,
    tree: tree.digest,
  };
  recordImage(ctx, { ref: out.image, digest: out.digest });
  return out;
}

/**
 * Layer entries of the built tree under `workdir`, read from the CAS (no copy), each blob
 * verified first: a corrupt one is evicted and thrown, and the scheduler runs the build
 * step that produced it again.
 */
function treeEntries(ctx: ModuleContext<unknown>, tree: Artifact, include: string[], workdir: string): LayerEntry[] {
  const manifest = ctx.cas.verifiedManifest(tree.digest);
  const prefix = workdir.replace(/^\/+/, '').replace(/\/+$/, '');
  const all = include.length === 0 || include.includes('.');
  const match = all
    ? undefined
    : picomatch(
        include.flatMap((p) => [p, `${p}/**`]),
        { dot: true },
      );
  const out: LayerEntry[] = [];
  for (const e of manifest.entries) {
    let rel = e.path;
    if (match) {
      if (!match(rel)) continue;
      // A static site's root becomes the image's workdir.
      const root = include.find((p) => rel === p || rel.startsWith(`${p}/`));
      if (root && !/[*?[]/.test(root) && root !== '.') rel = rel === root ? '' : rel.slice(root.length + 1);
      if (!rel) continue;
    }
    const p = prefix ? `${prefix}/${rel}` : rel;
    if (e.type === 'file') out.push({ path: p, type: 'file', mode: e.mode, content: ctx.cas.verifiedPath(e.digest!) });
    else if (e.type === 'symlink') out.push({ path: p, type: 'symlink', mode: 0o777, linkname: e.target });
    else out.push({ path: p, type: 'dir', mode: 0o755 });
  }
  return out;
}

export const nixpackBuild = defineModule({
  name: 'nixpack.build',
  description: 'Build a nixpack component (install → build in the sandbox) into a reproducible OCI image',
  inputs: nixpackInputs,
  plan: planOf,
  steps(ctx) {
    const plan = planOf(ctx);
    return plan.providers[0] === 'dockerfile' ? dockerfileSteps(ctx, plan) : buildSteps(ctx, plan);
  },
  async outputs(results, ctx) {
    const plan = planOf(ctx);
    if (plan.providers[0] === 'dockerfile') return dockerfileImageOf(ctx, results);
    return imageOf(ctx, plan, builtTree(results));
  },
});

export const nixpackTest = defineModule({
  name: 'nixpack.test',
  description: "Run the component's test command against the built tree, in the sandbox, without network",
  inputs: nixpackInputs,
  steps(ctx) {
    const plan = planOf(ctx);
    const build = buildSteps(ctx, plan);
    // `test --command` replaces every component's test command (a shell command, as test_cmd is).
    const cmd = ctx.options.testCommand ?? testCommand(plan, varsOf(ctx));
    const steps = cmd ? [...build, testStep(ctx, plan, cmd, build[build.length - 1])] : build;
    if (plan.providers[0] !== 'dockerfile') return steps;
    return steps.map((s) => ({ ...s, requires: [dockerfileRequirement(ctx, 'container')] }));
  },
});

/** The test step: `cmd` over the tree `last` left, without network. */
function testStep(ctx: ModuleContext<unknown>, plan: BuildPlan, cmd: string, last: Step): Step {
  return {
    id: ctx.stepId('test'),
    module: 'nixpack.test',
    component: ctx.component.address,
    ...stepImage(ctx, plan),
    ...runtime(plan),
    argv: ['sh', '-c', cmd],
    env: { ...stepEnv(plan, ctx), NODE_ENV: 'test' },
    // A failing test shows what failed, not only the runner's summary.
    failureLogLines: 200,
    ...stepSecrets(ctx.component.credentials),
    inputs: { [APP]: { step: last.id, output: TREE } },
    outputs: {},
    workdir: APP,
    needs: [last.id],
    network: false,
    cache: 'content',
  };
}
