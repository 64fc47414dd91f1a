/**
 * Public shapes of the stacks layer (SPEC 3.1). `src/stacks/` turns a list of stack
 * imports into one merged, Atmos-compatible stack and resolves its components exactly the
 * way `atmos describe component <c> -s <stack>` does.
 */
import type { Diagnostic, Location } from '../diagnostics/index.js';
import type { TemplateSettings } from '../config/atmos.js';
import type { ListMergeStrategy } from './merge.js';

/** An entry of an `import:` list (or of a deployment's `stacks:` list). */
export interface ImportSpec {
  path: string;
  /** Only for imports written as `{path, context}`: the data the imported file is rendered with (Go templates). */
  context?: Record<string, unknown>;
  skip_if_missing?: boolean;
  /** Read the imported file as it is, without rendering it with the context. */
  skip_templates_processing?: boolean;
  /** A value missing from the context renders as `<no value>` instead of failing. */
  ignore_missing_template_values?: boolean;
  /** Where the entry was written (for "missing import" and cycle errors). */
  location?: Location;
}

export interface StackLoadOptions {
  /** Absolute repository root (locations are relative to it). */
  repoRoot: string;
  /** Absolute `stacks.base_path`. */
  stacksBasePath: string;
  /** atmos.yaml `settings.list_merge_strategy`. */
  listMergeStrategy: ListMergeStrategy;
  /** atmos.yaml `integrations.github`: merged under every component's `settings.integrations.github`. */
  integrationsGithub?: Record<string, unknown>;
  /** atmos.yaml `templates.settings` (import contexts and `.tmpl` files); no rendering when absent. */
  templates?: TemplateSettings;
}

/**
 * One merged stack: the virtual top-level stack whose imports are exactly the given list.
 * Produced by `loadStack()`; consumed by `resolveComponent()`.
 */
export interface LoadedStack {
  /** Every stack file read, repository-relative, in merge order (imports before importers). */
  files: string[];
  /** Files the stack files' `!include`s read, repository-relative, sorted. */
  included: string[];
  /** Component names defined (directly or through imports) per component type. */
  componentNames: { terraform: string[]; helmfile: string[] };
  /** Warnings found while loading (Go templates / YAML functions left unevaluated, once per file). */
  warnings: Diagnostic[];
  /** Opaque internals used by resolveComponent. */
  readonly internal: unknown;
}

/** A component as Atmos resolves it for one stack (`atmos describe component`). */
export interface ResolvedStackComponent {
  /** Component name in the stack (`vpc`, `ecs/service-api`). */
  name: string;
  /** Terraform root module directory (own `metadata.component`, else own name). */
  component: string;
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  env: Record<string, unknown>;
  /** Merged metadata (inherited except `inherits` and `type`). */
  metadata: Record<string, unknown>;
  backend_type: string | null;
  backend: Record<string, unknown>;
  providers: Record<string, unknown>;
  /** `dependencies` (root, `terraform:`, bases, own), merged as Atmos merges it (`components`: a list of `{component, stack?, kind?}`). */
  dependencies: Record<string, unknown>;
  /** The component's `command` (own `overrides`, own, bases, the `terraform:` section), when a stack sets one. */
  command?: string;
  /** Where that `command` is set. */
  commandLocation?: Location;
  /** Resolved inheritance chain, nearest base first, as Atmos prints `inheritance`. */
  inheritance: string[];
  /** `metadata.type === 'abstract'` */
  abstract: boolean;
  /** `metadata.enabled !== false` */
  enabled: boolean;
  /** Where the component's own section was declared (for located errors), when defined in a stack. */
  location?: Location;
  /** False when no loaded stack file defines the component (it still gets the root and type sections). */
  defined: boolean;
  /** Stack files (repository-relative) that define the component themselves, in merge order. */
  sources: string[];
}
