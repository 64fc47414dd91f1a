/**
 * A plan directory (`plan --out <dir>`, each component's stored plan: modules/terraform/
 * stored-plan.ts) as one content-addressed tree in the CAS: its digest is the stored plans'
 * id, so `rollout --from-plan <id>` finds exactly those files again on this machine (a CI job
 * on another one imports the directory instead). What the files mean is the module's; here
 * they are only a tree.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Cas } from '../cache/cas.js';
import { DiagnosticError, error } from '../diagnostics/index.js';

/** A stored plans' id: the sha256 digest of the directory's tree. */
const PLAN_ID = /^sha256:[0-9a-f]{64}$/;

const casOf = (cacheDir: string) => new Cas(path.join(cacheDir, 'cache'));

/** Puts the plan directory into the CAS; returns its id. */
export function storePlanSet(cacheDir: string, dir: string): string {
  return casOf(cacheDir).putDir(dir);
}

/**
 * The directory of a `--from-plan` value: a directory as given, or for an id the tree
 * materialised (once, verified) under `<cacheDir>/plans/<hex>/`. An unknown id is exit 2.
 */
export function planSetDir(cacheDir: string, value: string): string {
  if (!PLAN_ID.test(value)) return value;
  const cas = casOf(cacheDir);
  if (!cas.has(value)) {
    throw new DiagnosticError(
      error('plan/unknown-id', `--from-plan ${value}: no stored plans with this id in ${cacheDir}`, undefined, 'give the directory `plan --out <dir>` wrote (a CI artifact), or plan again'),
    );
  }
  const dest = path.join(cacheDir, 'plans', value.slice('sha256:'.length));
  if (existsSync(dest)) return dest;
  // Materialised beside its final name and renamed: a crash leaves no half-written plan set.
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cas.materialize({ kind: 'dir', digest: value }, tmp);
  renameSync(tmp, dest);
  return dest;
}
