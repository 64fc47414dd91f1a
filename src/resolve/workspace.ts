/**
 * Stack names and Terraform workspaces, derived as Atmos derives them
 * (cloudposse/atmos internal/exec/stack_utils.go `BuildTerraformWorkspace`):
 *
 *   stack name  = the top-level stack file's `name:` > atmos.yaml `stacks.name_template`
 *                 > `stacks.name_pattern` (over the component's own vars) > the file's path
 *                 under the stacks base, without extension (src/stacks/names.ts
 *                 `stackNameFor`, the rule `stacks:` entries are named by too)
 *   workspace   = `metadata.terraform_workspace_template` > `terraform_workspace_pattern` >
 *                 `terraform_workspace` > the stack name (`<stack>-<component>` for a derived
 *                 component, one whose `metadata.component` names another module, as
 *                 `atmos terraform` and `describe component` derive it), `/` → `-`;
 *                 `default` when workspaces are disabled or the backend is `http`.
 *
 * A target may load several stack files; its stack is the last top-level one (the most
 * specific, merged last), as `atmos describe component -s <that stack>` would resolve it.
 *
 * Templates: only `{{ .a.b }}` field actions (with `{{-`/`-}}` trimming) are evaluated here;
 * any other action is a located exit-2 "not yet supported" error, never text passed on.
 */
import path from 'node:path';
import type { Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { YamlFileCache } from '../config/files.js';
import { isPlainMap, locOf } from '../yaml/index.js';
import { namingData, renderNameTemplate, stackNameFor } from '../stacks/names.js';

/** The stack a target's components are described in. */
export interface TargetStack {
  /** Path of the top-level stack file under the stacks base, without extension (`orgs/acme/dev`). */
  file: string;
  /** Its top-level `name:` (Atmos's manifest name), when set. */
  manifestName?: string;
}

/** What a component's workspace is derived from. */
export interface WorkspaceInput {
  stack: TargetStack;
  /** The Atmos component name (the deployment's component name). */
  component: string;
  /** The module the component deploys (`metadata.component`, else its own name). */
  module: string;
  metadata: Record<string, unknown>;
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  backendType: string | null;
  /** Where the component is declared (diagnostics of its metadata templates). */
  location: Location;
}

/** The target's stack: the last top-level stack file loaded (`files` is in merge order). */
export function targetStack(cfg: AtmosConfig, files: string[], cache: YamlFileCache): TargetStack | undefined {
  const last = files[files.length - 1];
  if (last === undefined) return undefined;
  const abs = path.resolve(cfg.repoRoot, last);
  const rel = path.relative(cfg.stacksBasePath, abs).split(path.sep).join('/');
  const file = rel.replace(/\.(ya?ml)(\.tmpl)?$/, '');
  const doc = cache.load(abs).value;
  const name = isPlainMap(doc) ? doc.name : undefined;
  return { file, ...(typeof name === 'string' && name !== '' ? { manifestName: name } : {}) };
}

/**
 * Atmos's context tokens of a component (pkg/config/utils.go `ReplaceContextTokens`), as the
 * workspace derivation fills them (internal/exec/utils.go `processStackContextPrefix`: the
 * context comes from the vars, with `Component` and `BaseComponent` set and nothing else).
 * `{component-path}`, `{workspace}` and `{terraform_workspace}` are only filled by
 * `atmos terraform generate backends/varfiles` and Atlantis, so a workspace pattern gets ""
 * for them, as Go's strings.Replacer replaces every listed token.
 */
function contextTokens(input: WorkspaceInput): Record<string, string> {
  const v = (k: string) => (typeof input.vars[k] === 'string' ? (input.vars[k] as string) : '');
  const attributes = Array.isArray(input.vars.attributes) ? input.vars.attributes.map(String).join('-') : '';
  return {
    '{base-component}': derived(input) ? input.module : '',
    '{component}': input.component,
    '{component-path}': '',
    '{namespace}': v('namespace'),
    '{environment}': v('environment'),
    '{region}': v('region'),
    '{tenant}': v('tenant'),
    '{stage}': v('stage'),
    '{workspace}': '',
    '{terraform_workspace}': '',
    '{attributes}': attributes,
  };
}

function derived(input: WorkspaceInput): boolean {
  return input.module !== input.component;
}

/** Every `{token}` of a pattern replaced (unknown tokens stay, as with Go's strings.Replacer). */
function replaceTokens(pattern: string, tokens: Record<string, string>): string {
  return pattern.replace(/\{[a-z_-]+\}/g, (t) => tokens[t] ?? t);
}

/** What Atmos's templates see of a component (its sections and context), for the name templates. */
export function templateData(input: WorkspaceInput): Record<string, unknown> {
  return namingData(input, input.stack.file);
}

/** The Atmos stack name of a component's stack: the one rule of src/stacks/names.ts, over the component's own vars. */
export function stackNameOf(cfg: AtmosConfig, input: WorkspaceInput): string {
  return stackNameFor(cfg.stackNaming, input.stack, input);
}

/** A metadata string, or undefined (Atmos reads these keys only when they are strings). */
function metaString(m: Record<string, unknown>, key: string): string | undefined {
  return typeof m[key] === 'string' ? (m[key] as string) : undefined;
}

/** The Terraform workspace of a component, exactly as Atmos derives it (see the file comment). */
export function workspaceOf(cfg: AtmosConfig, input: WorkspaceInput): string {
  if (!cfg.workspacesEnabled || input.backendType === 'http') return 'default';
  const stack = stackNameOf(cfg, input);
  const m = input.metadata;
  const template = metaString(m, 'terraform_workspace_template');
  const pattern = metaString(m, 'terraform_workspace_pattern');
  const fixed = metaString(m, 'terraform_workspace');
  let ws: string;
  if (template !== undefined)
    ws = renderNameTemplate(
      template,
      { ...templateData(input), atmos_stack: stack },
      `terraform component "${input.component}": metadata.terraform_workspace_template`,
      locOf(m, 'terraform_workspace_template') ?? input.location,
    );
  else if (pattern !== undefined) ws = replaceTokens(pattern, contextTokens(input));
  else if (fixed !== undefined) ws = fixed;
  else ws = derived(input) ? `${stack}-${input.component}` : stack;
  return ws.replaceAll('/', '-');
}
