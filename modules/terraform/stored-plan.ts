/**
 * Stored plans (SPEC 10): `plan --out <dir>` keeps each Terraform component's saved plan
 * (`terraform plan -out`), the `.terraform.lock.hcl` it was made with and what it was made
 * from: the digests of the workspace's inputs (the root module tree, the generated backend,
 * providers and tfvars files) and the state it read (sha256, serial, lineage). The directory
 * is the CI artifact a later job imports; every file in it is also in the CAS, and the
 * manifest's digest names the stored plan.
 *
 * `rollout --from-plan <dir>` applies exactly that plan (`terraform apply tfplan`) once the
 * component's inputs and state are found unchanged; otherwise it refuses (exit 3) naming what
 * changed. Terraform would refuse a stale plan itself ("Saved plan is stale") only after init,
 * and says nothing about a changed variable; this check says which input, before anything runs
 * for the component.
 *
 * A plan file holds the variables' values (as Terraform's own does): the directory is as
 * secret as the variables.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, sha256, type Artifact, type ModuleContext } from 'atmos-pipe/module';

const KIND = 'atmos-pipe/stored-plan@1';
export const PLAN_FILE = 'tfplan';
export const LOCK_FILE = '.terraform.lock.hcl';
const MANIFEST = 'plan.json';

/** The state a plan was made from: enough to say what moved. */
export interface PlanState {
  /** sha256 of the state file, or `none` (no state yet); null for a remote backend (Terraform checks it). */
  digest: string | null;
  serial?: number;
  lineage?: string;
}

export interface StoredPlan {
  kind: typeof KIND;
  deployment: string;
  target: string;
  component: string;
  /** Workspace input name → digest (`.` the root module tree; the generated files by name). */
  inputs: Record<string, string>;
  state: PlanState;
  /** Digest of the `terraform plan -out` file. */
  plan: string;
  /** Digest of the lock file the plan was made with; absent when Terraform wrote none (no providers). */
  lock?: string;
}

/** The component's directory in a plan directory (the address with `/` spelled `__`). */
export function storedPlanDir(root: string, address: string): string {
  return path.join(root, address.split('/').join('__'));
}

/** What a state file says about itself. */
export function planState(statePath: string | null, digest: string): PlanState {
  if (statePath === null) return { digest: null };
  if (!existsSync(statePath)) return { digest };
  try {
    const s = JSON.parse(readFileSync(statePath, 'utf8')) as { serial?: unknown; lineage?: unknown };
    return { digest, ...(typeof s.serial === 'number' ? { serial: s.serial } : {}), ...(typeof s.lineage === 'string' ? { lineage: s.lineage } : {}) };
  } catch {
    return { digest };
  }
}

const digestsOf = (inputs: Record<string, Artifact>) => Object.fromEntries(Object.entries(inputs).map(([k, a]) => [k, a.digest]));

/**
 * Writes a component's stored plan into `root` and the CAS; returns the manifest's digest.
 * `planFile` and `lockFile` are CAS digests of the plan step's outputs.
 */
export function storePlan(ctx: ModuleContext<unknown>, root: string, made: { inputs: Record<string, Artifact>; state: PlanState; planFile: string; lockFile?: string }): string {
  const manifest: StoredPlan = {
    kind: KIND,
    deployment: ctx.deployment,
    target: ctx.target,
    component: ctx.component.address,
    inputs: digestsOf(made.inputs),
    state: made.state,
    plan: made.planFile,
    ...(made.lockFile ? { lock: made.lockFile } : {}),
  };
  const dir = storedPlanDir(root, ctx.component.address);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, PLAN_FILE), readFileSync(ctx.cas.pathOf(made.planFile)));
  if (made.lockFile) writeFileSync(path.join(dir, LOCK_FILE), readFileSync(ctx.cas.pathOf(made.lockFile)));
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(path.join(dir, MANIFEST), text);
  return ctx.cas.putBytes(text);
}

/** What an input is, in a refusal. */
function inputName(name: string): string {
  if (name === '.') return 'the root module (a file of the module directory)';
  if (name === 'terraform.tfvars.json') return 'the variables (terraform.tfvars.json)';
  if (name === 'backend.tf.json') return 'the backend configuration (backend.tf.json)';
  if (name === 'providers_override.tf.json') return 'the providers configuration (providers_override.tf.json)';
  return name;
}

const stateText = (s: PlanState) => (s.digest === 'none' ? 'no state' : `serial ${s.serial ?? '?'}, lineage ${s.lineage ?? '?'}, ${s.digest?.slice(0, 19)}`);

/**
 * The stored plan of a component, checked against its inputs and state now; the plan and
 * lock file as CAS artifacts. Refuses (exit 3) a missing, foreign or stale plan.
 */
export function checkedPlan(
  ctx: ModuleContext<unknown>,
  root: string,
  now: { inputs: Record<string, Artifact>; state: PlanState /** Inputs not known yet (left to the check at apply time). */; unknown?: string[] },
): { plan: Artifact; lock?: Artifact } {
  const c = ctx.component;
  const dir = storedPlanDir(root, c.address);
  const refuse = (what: string, hint: string): never => {
    throw new DiagnosticError(error('plan/stale', `${ctx.deployment}/${ctx.target} ${c.address}: ${what}`, undefined, hint), 'refused');
  };
  const again = `plan again (atmos-pipe plan ${ctx.deployment} --target ${ctx.target} --out <dir>) and review the new plan`;
  let stored: StoredPlan;
  try {
    stored = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as StoredPlan;
  } catch {
    return refuse(`no stored plan in ${dir}`, `make one with: atmos-pipe plan ${ctx.deployment} --target ${ctx.target} --out ${root}`);
  }
  if (stored.kind !== KIND || stored.deployment !== ctx.deployment || stored.target !== ctx.target || stored.component !== c.address) {
    return refuse(`${path.join(dir, MANIFEST)} is the plan of ${stored.deployment}/${stored.target} ${stored.component}, not of this component`, again);
  }
  const current = digestsOf(now.inputs);
  const changed = [...new Set([...Object.keys(current), ...Object.keys(stored.inputs)])].filter((k) => current[k] !== stored.inputs[k] && !now.unknown?.includes(k)).sort();
  if (changed.length) return refuse(`the stored plan is stale: ${changed.map(inputName).join(', ')} changed since it was made`, again);
  if (stored.state.digest !== null && stored.state.digest !== now.state.digest) {
    return refuse(`the stored plan is stale: the state changed since it was made (then ${stateText(stored.state)}; now ${stateText(now.state)})`, again);
  }
  const file = (name: string, digest: string): Artifact => {
    const p = path.join(dir, name);
    if (!existsSync(p)) return refuse(`${p} is missing from the stored plan`, again);
    const bytes = readFileSync(p);
    if (sha256(bytes) !== digest) return refuse(`${p} is not the file the plan stored (its digest differs)`, again);
    return { kind: 'file', digest: ctx.cas.putBytes(bytes) };
  };
  return { plan: file(PLAN_FILE, stored.plan), ...(stored.lock ? { lock: file(LOCK_FILE, stored.lock) } : {}) };
}
