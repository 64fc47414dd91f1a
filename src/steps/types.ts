/**
 * Steps are data, not closures (SPEC 4.1). A module turns one component into steps; an
 * engine runs them; the fingerprint (see fingerprint.ts) decides whether a step must run.
 */
import path from 'node:path';
import type { Location } from '../diagnostics/index.js';

/** A content-addressed file or directory tree in the CAS (`sha256:<hex>`). */
export interface Artifact {
  kind: 'file' | 'dir';
  /** File: digest of its bytes. Dir: digest of its manifest (sorted path, mode, digest). */
  digest: string;
}

/** An input produced by another step of the same run (resolved to an Artifact when it ran). */
export interface StepOutputRef {
  /** Id of the producing step (must be in `needs`). */
  step: string;
  /** One of the producer's `outputs.dirs` or `outputs.files`. */
  output: string;
}

export type StepInput = Artifact | StepOutputRef;

/** The command an engine runs: argv followed by the operational arguments. */
export function commandLine(step: Step): string[] {
  return step.operationalArgs?.length ? [...step.argv, ...step.operationalArgs] : step.argv;
}

export function isOutputRef(i: StepInput): i is StepOutputRef {
  return (i as StepOutputRef).step !== undefined;
}

/**
 * Where the scheduler makes the workspace of a step: `<cacheDir>/workspaces/<run-id>/<step-slug>/`.
 * A run id and a slug are one path segment each, so a path relative to a workspace that
 * reaches elsewhere under the cache dir is the same for every run and step: see
 * {@link fromWorkspace}.
 */
export function stepWorkspace(cacheDir: string, runId: string, slug: string): string {
  return path.join(cacheDir, 'workspaces', runId, slug);
}

/**
 * A host path as a step names it from its working directory (`workdir`, relative to the
 * workspace): a POSIX path relative to it, e.g. `../../../state/<d>/<t>` for local Terraform
 * state under the cache dir. Fingerprints hold no host path (SPEC 4.1): the cache dir and
 * everything a step reaches this way live inside the repository, so a copy of the repository
 * at another path (a CI checkout, a restored cache) names the same files with the same text.
 */
export function fromWorkspace(cacheDir: string, hostPath: string, workdir = '.'): string {
  const from = path.join(stepWorkspace(cacheDir, 'run', 'step'), workdir);
  return path.relative(from, hostPath).split(path.sep).join('/') || '.';
}

/** A query whose first column of its first row is the fact (text or bytes). */
export interface PostgresFact {
  /** Name of the step's secret (`Step.secrets`) holding the connection string (e.g. `PG_CONN_STR`). */
  connection: string;
  /** One read-only statement with `$1`-style parameters; identifiers in it are quoted by the module. */
  query: string;
  params?: string[];
}

/** Where a fact's value is read: an absolute host file, or a PostgreSQL query (src/steps/facts.ts). */
export type FactSource = string | { postgres: PostgresFact };

/**
 * A host path bound into the step read-write and NOT content-addressed (e.g. the directory of
 * local Terraform state). Whatever a step may read from it must be reflected in its env or
 * `facts` (e.g. the digest of the state it starts from), or the cache would lie.
 */
export interface StepMount {
  /** Absolute host path (created if missing). Not part of the fingerprint. */
  host: string;
  /**
   * Where the step sees it (part of the fingerprint), either
   * - relative to the step's working directory ({@link fromWorkspace}): the engines bind the
   *   host path where that relative path leads (the local engine: on the host itself, so it
   *   must lead to `host`; Dagger: in a container that mirrors the host layout), which keeps
   *   host paths out of the fingerprint; or
   * - absolute: a fixed path inside the step (the local engine binds it there in the sandbox;
   *   unsandboxed, only `path === host` can be honoured).
   */
  path: string;
  writable: boolean;
}

/**
 * What a step may need from the engine beyond running its argv in a workspace. Engines
 * declare which they support (`Engine.supports` in src/engine/types.ts); the
 * scheduler refuses a step whose engine lacks one, with the step's reason, before it runs.
 *
 * - `container`: the step runs in its container image (`image`); no host tool stands in for it.
 * - `container-build`: the step is a container image build, not a command. Its argv is the
 *   build's description, `docker-build --dockerfile <path> --output <file>` (both relative to
 *   the working directory, the build context); the engine builds the context with its
 *   Dockerfile and writes the image as an OCI tarball to `<file>`.
 */
export type Capability = 'container' | 'container-build';

/**
 * A capability a step requires, with what the refusal says when the engine lacks it:
 * `<component> <what>, which the <engine> engine <cannot…>` (the engine's words), and the
 * engine's hint followed by `otherwise`.
 */
export interface StepRequirement {
  capability: Capability;
  /** What the step does that needs it, as a phrase after the component, e.g. `builds from a Dockerfile (…)`. */
  what: string;
  /** Diagnostic code of the refusal; the engine's name is appended (`nixpack/dockerfile` → `nixpack/dockerfile-local`). */
  code: string;
  /** What else the user can do than change engines, e.g. `drop dockerfile_escape …`. */
  otherwise?: string;
  /** Where the requirement comes from (e.g. the component's definition). */
  location?: Location;
}

/**
 * A tool cache the step benefits from: a named volume an engine may keep between steps and
 * runs (the Dagger engine mounts a cache volume; the local engine leaves the tool to its own
 * cache). A cache only saves work: it never changes what the step produces, so it is not
 * part of the fingerprint.
 */
export interface StepCache {
  /** Volume name; steps naming the same volume share it, so it names the tool's version, e.g. `terraform-plugins-1.9.8`. */
  volume: string;
  /** Directory name under the engine's own cache root, e.g. `terraform-plugins`. */
  dir: string;
  /**
   * The variable that points the tool at the cache. When the step's env sets it, the cache is
   * mounted where its value leads (relative to the working directory); else the engine sets it
   * to the directory it mounted.
   */
  env: string;
  /** Whether concurrent steps may write the cache at once (default `locked`: one writer at a time). */
  sharing?: 'shared' | 'locked';
}

/**
 * How an engine that runs host processes finds, checks and exposes a step's `tool` (a
 * container engine uses `image` instead). Not part of the fingerprint: it says how to check
 * the tool and what to tell the user, never what the step produces.
 */
export interface HostTool {
  /** Arguments that make the tool print its version (default `--version`): the first `x.y.z` it prints. */
  versionArgs?: string[];
  /** How to install it, for the refusal when it is missing (e.g. `install Terraform >= 1.5 or OpenTofu`). */
  install?: string;
  /** Where its version is pinned, for the refusal when another is found (e.g. `deployments.tools.terraform.version in atmos.yaml`). */
  pinnedIn?: string;
  /** Other commands the step's shell runs besides argv[0] (e.g. npm beside node): made visible in a sandbox too. */
  companions?: string[];
  /** Variables passed through from the runner's environment when set (e.g. where the tool's own configuration is). */
  env?: string[];
  /** Of `env`, the variables that name a host file the tool reads (made visible read-only in a sandbox). */
  files?: string[];
}

export interface Step {
  /** `rollout:terraform/ecs/service-api:apply` */
  id: string;
  /** Module step type, e.g. `terraform.apply`. */
  module: string;
  /** Component address the step belongs to (for reporting). */
  component: string;
  /** Pinned container image (Dagger engine). */
  image: string;
  /**
   * Where the configuration chooses `image` (e.g. `settings.nixpack.build_image`), for an
   * engine's refusal of an image it cannot run as given (the Dagger engine: a tag without a
   * digest). Not fingerprinted: the image itself is.
   */
  imageChosenIn?: string;
  /** Host tool (local engine): checked against its pinned version. */
  tool?: { name: string; version: string };
  /** How the host tool is found, checked and exposed (see {@link HostTool}). Not fingerprinted. */
  hostTool?: HostTool;
  /** Command; never a shell string built from user input. */
  argv: string[];
  /**
   * Arguments appended to argv that change how the step waits or reports, never what it
   * produces (e.g. `-lock-timeout=30s`). NOT part of the fingerprint, so tuning them never
   * invalidates the cache.
   */
  operationalArgs?: string[];
  /** Plain environment (part of the fingerprint). */
  env: Record<string, string>;
  /** Names of environment variables passed through; values are HMAC'd, never stored. */
  secrets: string[];
  /**
   * Where a secret's value comes from, by name: a key of the run's secret store (`env:NAME`,
   * `file:/path`, or a derived value such as a sensitive Terraform output). A secret without
   * one is the runner's variable of the same name. Not part of the fingerprint (the value is).
   */
  secretSources?: Record<string, string>;
  /** Mount path (relative to the workspace) -> content to materialise there. */
  inputs: Record<string, StepInput>;
  /** What the step leaves behind, relative to the workspace. `values` come from `values.json`. */
  outputs: { dirs?: string[]; files?: string[]; values?: string[] };
  /**
   * The value outputs may hold secrets anywhere (e.g. `terraform show -json`, which prints
   * variable values): each is stored sealed (encrypted with the repository's key) and opened
   * in memory by the module. Without it, only `{ "sensitive": true, "value": ... }` entries are
   * sealed. Not fingerprinted (it changes how a result is kept, not what it is).
   */
  sealValues?: boolean;
  /** How many last lines of the log a failure shows (default 20; a test step shows more). Not fingerprinted. */
  failureLogLines?: number;
  /** Write the command's stdout to this workspace-relative file (e.g. `terraform output -json`). */
  stdout?: string;
  /** Working directory relative to the workspace (default: the workspace). */
  workdir?: string;
  /** Extra read-write host paths (not content-addressed; see {@link StepMount}). */
  mounts?: StepMount[];
  /** Facts that are part of the key but not materialised, e.g. `{ state: "sha256:..." }`. */
  facts?: Record<string, string>;
  /**
   * Facts that converge: fact name -> where its value is read AFTER the step ran (an absolute
   * host file, or a PostgreSQL row: {@link FactSource}, read as the module read `facts`).
   * After a success the scheduler also stores the result under the fingerprint with these
   * refreshed facts, so re-running an unchanged step (e.g. `terraform apply` from the state it
   * produced) is a cache hit. Not part of the fingerprint.
   */
  refreshFacts?: Record<string, FactSource>;
  /** Steps of this run that must finish first (their output digests join the fingerprint). */
  needs: string[];
  /** false: no network in the sandbox. */
  network: boolean;
  cache: 'content' | 'never';
  /**
   * Output that means the step failed because a lock is held by someone else: EVERY one of
   * these strings appears in the log (e.g. Terraform's "Error acquiring the state lock" AND
   * the "Lock Info:" of the holder; a corrupt state file fails with the first alone). The run
   * then exits 4, not 1.
   */
  lockedWhen?: string[];
  /**
   * Output that means a transient failure (e.g. two concurrent `terraform init` creating the
   * same table in a fresh database): when the failed step's log contains one of these, it runs
   * again from fresh inputs after a short random pause, at most five times. Not fingerprinted.
   */
  retryWhen?: string[];
  /** Known failure causes: when the log contains `when`, `hint` (what is wrong, what to do) joins the reason. */
  failureHints?: Array<{ when: string; hint: string }>;
  /** Exit codes that count as success (default [0]). */
  successCodes?: number[];
  /** Seconds before the step is killed (default: none). */
  timeoutSeconds?: number;
  /** Capabilities the engine must have to run the step (see {@link Capability}); part of the fingerprint. */
  requires?: StepRequirement[];
  /** Tool caches (see {@link StepCache}); not part of the fingerprint. */
  caches?: StepCache[];
}

export type StepStatus = 'done' | 'cached' | 'failed' | 'skipped';

/** What a finished step produced. */
export interface StepResult {
  id: string;
  component: string;
  module: string;
  status: StepStatus;
  fingerprint?: string;
  /** Output name -> artifact. */
  outputs: Record<string, Artifact>;
  /** Parsed `values` outputs. */
  values: Record<string, unknown>;
  exitCode?: number;
  durationMs: number;
  /** Digest of the full log in the CAS. */
  logDigest?: string;
  /** Last lines of the log (failed steps). */
  logTail?: string[];
  /** Why it failed or was skipped. */
  reason?: string;
  /** Failed because a lock was held by someone else (see Step.lockedWhen). */
  locked?: boolean;
  /** Kept workspace (with --keep-workspace). */
  workspace?: string;
}
