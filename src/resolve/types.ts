/**
 * What resolution produces: plain data (no graph, no configuration handle), printable with
 * `--format json`. The component graph is built from it by src/graph; upstream values a
 * resolution could not know yet are recorded as {@link DeferredValue}s and rendered when a
 * component's steps are expanded (./substitute.ts).
 */
import type { Diagnostic, Location } from '../diagnostics/index.js';
import type { YamlFileCache } from '../config/files.js';
import type { DependencyEdge } from '../graph/order.js';
import type { Credentials } from '../secrets/index.js';
import type { ListMergeStrategy } from '../stacks/merge.js';
import type { GitInfo } from './git.js';
import type { FoundRef, TemplateScope } from './templates.js';

/** A built image, as recorded by the build stage. */
export interface BuiltImage {
  /** `registry/name@sha256:...` or `name@sha256:...` */
  ref: string;
  digest: string;
}

export interface ResolveOptions {
  files?: YamlFileCache;
  /** Git facts for templates; computed lazily from the repository when absent. */
  git?: GitInfo;
  /** Built images per nixpack component name; absent: `@sha256:<unbuilt>` references. */
  images?: Record<string, BuiltImage>;
  /** Outputs of applied Terraform components (by component name). */
  terraformOutputs?: Record<string, Record<string, unknown>>;
  /** Outputs of built components of declared types, by type and component name; absent: `(unbuilt: …)` placeholders. */
  declaredOutputs?: Record<string, Record<string, Record<string, unknown>>>;
}

/**
 * A value of a component that depends on what other components produce (a built image, a
 * Terraform output): where it sits in the resolved component and how to render it again.
 */
export interface DeferredValue {
  section: 'vars' | 'settings' | 'env';
  /** Keys and list indexes from the section down to the value. */
  path: (string | number)[];
  /**
   * The deployment's template string that produced it, or the nixpack image bound there.
   * `text`: the value is text (a Go template's output, as Atmos renders `atmos.Component`
   * outputs without `!template`): a value that is not a string is written as its JSON.
   */
  source: { template: string; location: Location; text?: true } | { binding: string };
  /**
   * The lower layer's map or list at this path (the stacks'), when there was one: a template
   * that renders to a map or list merges over it, as resolution merges layers.
   */
  under?: { value: unknown; strategy: ListMergeStrategy };
}

/** An Atmos dependency (`settings.depends_on`, `dependencies.components`) naming no component of the deployment. */
export interface ExternalDependency {
  /** Where it is declared. */
  source: 'settings.depends_on' | 'dependencies.components';
  /** The entry as written (component, stack, namespace/tenant/environment/stage, kind, file, folder, path). */
  entry: Record<string, unknown>;
  /** Why it orders nothing here: another stack, another kind, or no such component in the deployment. */
  reason: string;
  location?: Location;
}

/**
 * A step hook of a component (SPEC 8), from the deployment's, the target's or the
 * component's `steps:`: a registered module run before or after one of its stages.
 */
export interface ResolvedHook {
  /** `after_apply` */
  key: string;
  when: 'before' | 'after';
  /** The pipeline stage it hooks (`apply`, `plan`, `build`, `test`). */
  stage: string;
  /** Where it is declared (hooks run in this order: deployment, target, component). */
  level: 'deployment' | 'target' | 'component';
  /** The module's name. */
  uses: string;
  name?: string;
  /** `with:` as written: templates not evaluated, positions kept (`{}` when absent). */
  with: Record<string, unknown>;
  /** Where in the deployment file, for messages: `deployment.targets.dev.steps.after_apply[0]`. */
  path: string;
  /** The `uses:` value. */
  location: Location;
  /** The `with:` key (else the `uses:` value): where a missing input is reported. */
  withLocation: Location;
  /** Template references in `with:` (`self.*` included). */
  references: FoundRef[];
}

export interface ResolvedComponent {
  /** `terraform/ecs/service-api` */
  address: string;
  /** `terraform`, `nixpack`, or a type a module declares (e.g. `zip`). */
  type: string;
  name: string;
  /** Terraform root module directory name; null for nixpack. */
  component: string | null;
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  env: Record<string, unknown>;
  backend_type: string | null;
  backend: Record<string, unknown>;
  providers: Record<string, unknown>;
  /** Terraform: the workspace its steps select (`TF_WORKSPACE`), derived as Atmos does (./workspace.ts). */
  workspace?: string;
  /**
   * Terraform: the command its steps run (`terraform`, `tofu`): the stacks' `command` (the
   * component's `overrides`, own, bases, the stack's `terraform:` section), else atmos.yaml's.
   */
  command?: string;
  /** Where the stacks set {@link command}; absent when it comes from atmos.yaml (the run's tool pins then apply). */
  commandLocation?: Location;
  /** Terraform: Atmos dependencies outside the deployment (shown by describe and graph, never ordered). */
  externalDependencies?: ExternalDependency[];
  /** Every dependency: explicit, template and binding edges. */
  depends_on: string[];
  wave: number;
  /** Merged metadata (stack metadata with the deployment's over it). */
  metadata: Record<string, unknown>;
  labels: Record<string, string>;
  /** Absolute module directory (terraform): the vendored copy when a vendor entry applies (SPEC 7). */
  moduleDir?: string;
  /** Set when the module comes from the vendor store: what the lock pinned. */
  vendored?: { digest: string; source: string; version: string | null };
  /** Absolute source directory (nixpack, and a declared type whose module names its `source` var). */
  sourceDir?: string;
  /** Where the component is declared in the deployment file. */
  location: Location;
  /** Nixpack images bound into this component's vars: var path -> nixpack component. */
  bindings: { var: string; nixpack: string; kind: 'template' | 'label' | 'name' }[];
  /** Template references in the deployment's configuration of this component. */
  references: FoundRef[];
  /** Values that depend on built images, Terraform outputs or declared components' outputs (rendered again at expansion). */
  deferred: DeferredValue[];
  /**
   * Files of declared components bound into this one (`{{ zip.fn.path }}`), set when its
   * deferred values are rendered: workspace-relative path → content. Its steps materialize them.
   */
  files?: Record<string, { kind: 'file'; digest: string }>;
  /** Declared credentials (atmos.yaml, deployment, target, component): names and sources, never values. */
  credentials: Credentials;
  /** Step hooks (deployment's, target's, then its own); absent when none. */
  hooks?: ResolvedHook[];
}

export interface ResolvedDeployment {
  deployment: string;
  /** The deployment file (absolute). */
  file: string;
  target: string;
  /** Every stack file loaded, repository-relative, in merge order. */
  stacks: string[];
  /** Files the stack files' `!include`s read, repository-relative, sorted. */
  included: string[];
  /** Components in wave order (each with its dependencies and wave). */
  components: ResolvedComponent[];
  /** Dependency edges between the components (disabled ones dropped): what src/graph is built from. */
  edges: DependencyEdge[];
  warnings: Diagnostic[];
  git: GitInfo;
  /** Built images known to this resolution (by nixpack component name). */
  images: Record<string, BuiltImage>;
  /** What templates evaluated against (Terraform outputs only when the caller gave them): the base of a substitution. */
  scope: TemplateScope;
}
