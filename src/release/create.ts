/**
 * Making a release of the working tree's commit (SPEC 5.3): the one path `release`, `rollout`
 * and `approve` take, so that the same commit and artifacts give the same release (same id,
 * same record) whichever command made it first.
 *
 *     vendor (just in time) → record → SBOM → create (annotated tag + exported file) → attach
 *
 * `makeRelease` runs the first three, which write nothing in Git; the release it returns is
 * written by its `create()`, which a rollout calls only once every check passed (a refused
 * rollout leaves tags, notes and files untouched).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readImageStore } from '../cache/images.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { resolveWithImageStore, withImages, type ResolvedDeployment } from '../resolve/index.js';
import { fetchFirst, GitRepo, pushRecorded, requireHead, staleWarning, type Head, type RemotePush } from '../tracking/index.js';
import { whoAmI } from '../tracking/identity.js';
import { ensureVendored, vendoredDigests, type EnsureVendoredOptions } from '../vendoring/index.js';
import { VERSION } from '../version.js';
import { checkClean, deploymentChanges, dirtyWarning, DIRTY_RECORDED, type DirtyInputs } from './dirty.js';
import { createRelease, idOfRelease, releaseId, type CreateReleaseResult, type ReleaseImage, type ReleaseRecord } from './index.js';

/** The images a release of the working tree pins: the local image store's, for the deployment's nixpack components. */
export function releaseImages(repo: Repository, dep: DeploymentConfig): Record<string, ReleaseImage> {
  const store = readImageStore(repo.config.cacheDir, dep.name);
  const nixpack = Object.keys(dep.body.components?.nixpack ?? {});
  return Object.fromEntries(nixpack.filter((n) => store[n]).map((n) => [n, { ref: store[n].ref, digest: store[n].digest }]));
}

/**
 * A release record of the working tree's commit: the images built for the deployment's
 * nixpack components (local image store), the vendored modules, tool versions, who and when.
 */
export function newReleaseRecord(repo: Repository, dep: DeploymentConfig, target: string, head: Head, createdBy: string, annotations: Record<string, string>, dirty?: DirtyInputs): ReleaseRecord {
  const tf = repo.config.tools.terraform;
  return {
    deployment: dep.name,
    target,
    git_sha: head.sha,
    git_branch: head.branch ?? null,
    images: releaseImages(repo, dep),
    sboms: {},
    // The modules vendored for this target (pulled just in time before the record is made).
    vendored: dep.body.vendor ? vendoredDigests(repo.config.cacheDir, dep.name, target) : {},
    tools: { 'atmos-pipe': VERSION, ...(tf.version ? { [tf.command]: tf.version } : {}) },
    annotations,
    created_at: new Date().toISOString(),
    created_by: createdBy,
    ...(dirty ? { dirty: true, dirty_digest: dirty.digest, dirty_files: dirty.files.map((f) => f.path) } : {}),
    ...(dep.contextOverrides && Object.keys(dep.contextOverrides).length ? { context: dep.contextOverrides } : {}),
  };
}

/** The deployment SBOM of a release: its digest (for the record) and its CycloneDX text (for the note). */
export interface ReleaseSbom {
  digest: string;
  text: string;
  /** Remembers it for the next release of the same content (absent for a modified work tree). */
  save?: () => void;
}

/**
 * The deployment SBOM of a release (CycloneDX 1.6; its digest goes into the release record,
 * the document into `refs/notes/atmos/<d>/sbom`). Remembered per commit, target, images and
 * vendored modules, so a re-run does not generate it again; never for a modified work tree.
 * `resolved` is the caller's resolution of the working tree with the record's images: the
 * SBOM describes it instead of resolving again.
 */
export async function releaseSbom(repo: Repository, dep: DeploymentConfig, target: string, head: Head, record: ReleaseRecord, dirty: boolean, resolved?: ResolvedDeployment): Promise<ReleaseSbom> {
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, tool: VERSION, d: dep.name, target, sha: head.sha, images: record.images, vendored: record.vendored }))
    .digest('hex');
  const memo = path.join(repo.config.cacheDir, 'cache', 'sbom', `${key}.json`);
  if (!dirty && existsSync(memo)) {
    try {
      const m = JSON.parse(readFileSync(memo, 'utf8')) as { digest: string; text: string };
      if (m.digest && m.text) return m;
    } catch {
      // a torn memo: generate again
    }
  }
  // Loaded on demand: the SBOM generators are only needed when the memo misses.
  const { deploymentSbom } = await import('../sbom/index.js');
  const images = Object.fromEntries(Object.entries(record.images).map(([c, i]) => [c, { ref: i.ref, digest: i.digest }]));
  // Validated by the test suite against the strict schema; a release does not pay for the validator.
  const s = await deploymentSbom(repo, dep, target, {
    images,
    git: { sha: head.sha, short_sha: head.sha.slice(0, 8), ...(head.branch ? { branch: head.branch } : {}) },
    validate: false,
    ...(resolved ? { resolved: withImages(resolved, images) } : {}),
  });
  const out = { digest: s.digest, text: s.cyclonedx };
  if (dirty) return out;
  // Remembered by the caller once its checks passed (`save`): a refused rollout writes nothing.
  const { writeFileAtomic } = await import('../cache/cas.js');
  return { ...out, save: () => writeFileAtomic(memo, JSON.stringify(out)) };
}

export interface MakeReleaseRequest {
  target: string;
  /** The commit released (HEAD of the working tree). */
  head: Head;
  createdBy: string;
  /** `--annotation k=v`; kept by reference (a rollout adds its own before the release is written). */
  annotations?: Record<string, string>;
  /**
   * The caller pulled the vendored modules just in time already (it had to, to resolve the
   * deployment): they are not checked again.
   */
  pulled?: boolean;
  /** Inputs the caller found modified and accepted (`--allow-dirty`): a dirty release. */
  dirty?: DirtyInputs;
  /**
   * Compare the inputs with HEAD once the modules are pulled (`what` names the command in
   * the refusal): a modified input is refused (exit 3) unless `allowDirty`, which makes a
   * dirty release and a warning.
   */
  checkInputs?: { what: string; allowDirty: boolean };
  /** The caller's resolution of the working tree (the record's images are bound into it for the SBOM). */
  resolved?: ResolvedDeployment;
  /** Notices of the modules pulled. */
  emit?: EnsureVendoredOptions['emit'];
  /** `release --id`: the explicit id (checked with {@link checkReleaseIdArg}). */
  id?: string;
}

/** A release made but not yet written. */
export interface PendingRelease {
  id: string;
  record: ReleaseRecord;
  sbom: ReleaseSbom;
  /** Set when the release is of modified inputs. */
  dirty?: DirtyInputs;
  warnings: Diagnostic[];
  /** Writes it: the SBOM memo, the tag and exported file, and the SBOM note when the tag is new. */
  create(): Promise<CreateReleaseResult>;
}

/** vendor → record → SBOM of the working tree's commit; nothing is written until `create()`. */
export async function makeRelease(repo: Repository, dep: DeploymentConfig, git: GitRepo, req: MakeReleaseRequest): Promise<PendingRelease> {
  const warnings: Diagnostic[] = [];
  if (dep.body.vendor && !req.pulled) await ensureVendored(repo, dep, req.target, { emit: req.emit });
  // One resolution for the inputs check and the SBOM: the caller's, else made here once.
  const resolved = req.resolved ?? (await resolveWithImageStore(repo.config, dep, req.target, { files: repo.files }));
  let dirty = req.dirty;
  if (req.checkInputs) {
    const { what, allowDirty } = req.checkInputs;
    dirty = checkClean(await deploymentChanges(git, repo, dep, req.target, resolved), what, dep, req.target, req.head, allowDirty);
    if (dirty) warnings.push(dirtyWarning(dirty, dep, req.target, req.head, DIRTY_RECORDED));
  }
  const record = newReleaseRecord(repo, dep, req.target, req.head, req.createdBy, req.annotations ?? {}, dirty);
  const sbom = await releaseSbom(repo, dep, req.target, req.head, record, dirty !== undefined, resolved);
  record.sboms = { deployment: sbom.digest };
  if (req.id !== undefined && req.id !== releaseId(record)) Object.assign(record, { id: req.id, content_id: releaseId(record) });
  return {
    id: idOfRelease(record),
    record,
    sbom,
    ...(dirty ? { dirty } : {}),
    warnings,
    create: async () => {
      sbom.save?.();
      return publishRelease(repo, git, record, sbom);
    },
  };
}

/**
 * create → attach: the tag and exported file of `record` (an existing release is reused, and
 * exported for `record.target`), then its SBOM note when the tag is new.
 */
export async function publishRelease(repo: Repository, git: GitRepo, record: ReleaseRecord, sbom?: ReleaseSbom): Promise<CreateReleaseResult> {
  const created = await createRelease(git, record, { releasesPath: repo.config.releasesPath, repoRoot: repo.config.repoRoot });
  if (sbom && created.created) {
    const { attachSbom } = await import('../sbom/index.js');
    await attachSbom(repo.config.repoRoot, record.deployment, record.git_sha, sbom.text);
  }
  return created;
}

export interface ReleaseRequest {
  target: string;
  annotations?: Record<string, string>;
  /** `--allow-dirty`: release modified inputs, recorded as a dirty release (never promoted). */
  allowDirty?: boolean;
  env?: NodeJS.ProcessEnv;
  pushRemote?: string;
  /** false (`--no-fetch`): do not fetch `pushRemote`'s records first. */
  fetch?: boolean;
  /** `--id`: an explicit id instead of the one derived from the content (an id naming other content: exit 3). */
  id?: string;
}

/**
 * `release --id <id>`: a Git ref component of at most 63 characters that cannot be mistaken
 * for a derived id (`r-<hex>` is reserved for those). Exit 2 otherwise, before anything is read.
 */
export function checkReleaseIdArg(id: string): void {
  const bad = !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id) || id.includes('..') || id.endsWith('.lock') || id.endsWith('.');
  const reserved = /^r-[0-9a-f]+$/.test(id);
  if (bad || reserved) {
    throw new DiagnosticError(
      error(
        'args/release-id',
        `--id "${id}": ${reserved ? "r-<hex> ids are derived from a release's content and cannot be given" : 'not a release id'}`,
        undefined,
        'e.g. --id v1.2.3 (letters, digits, . _ -, at most 63 characters, starting with a letter or digit)',
      ),
    );
  }
}

export interface ReleaseResult extends CreateReleaseResult {
  warnings: Diagnostic[];
  push?: RemotePush;
}

/** `release` (SPEC 5.3): creates (idempotently) the release of the working tree's commit with the built images. */
export async function release(repo: Repository, dep: DeploymentConfig, req: ReleaseRequest): Promise<ReleaseResult> {
  const git = new GitRepo(repo.config.repoRoot);
  const head = await requireHead(git, 'release');
  // The remote's release tags first: the same release made elsewhere is reused, not made again.
  const fetched = await fetchFirst(git, req.pushRemote, { fetch: req.fetch });
  const who = await whoAmI(git, req.env);
  if (req.id !== undefined) checkReleaseIdArg(req.id);
  const pending = await makeRelease(repo, dep, git, {
    target: req.target,
    head,
    createdBy: who,
    annotations: req.annotations,
    checkInputs: { what: 'release', allowDirty: req.allowDirty ?? false },
    ...(req.id !== undefined ? { id: req.id } : {}),
  });
  const warnings = [...staleWarning(fetched, 'releasing on the local records'), ...pending.warnings];
  const r = await pending.create();
  const { record } = pending;
  if (!r.created && JSON.stringify(r.record.annotations) !== JSON.stringify(Object.fromEntries(Object.entries(record.annotations).sort()))) {
    if (Object.keys(record.annotations).length) {
      warnings.push(warning('release/exists', `release ${r.id} already existed (same commit and artifacts); releases are immutable, so its original annotations are kept`));
    }
  }
  const push = await pushRecorded(git, req.pushRemote, { refs: [], tags: [r.tag], notes: [] });
  return { ...r, warnings, ...(push ? { push } : {}) };
}
