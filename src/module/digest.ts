/**
 * The content digest of a module loaded from files (the repository's own, or a pinned remote
 * one), recorded by the loader (src/extensions) and stamped into every step the module
 * returns, so that a changed module re-runs its steps and an unchanged one hits the cache.
 *
 * Built-in modules have none: their code ships with the CLI, every step they return is fully
 * described by its data (argv, env, tool version, inputs), and a change in what a step means
 * bumps FINGERPRINT_VERSION. Stamping the CLI's version instead would make every upgrade
 * re-apply every Terraform component.
 */
import type { Step } from '../steps/types.js';
import type { AnyModule } from './define.js';

const digests = new WeakMap<AnyModule, string>();

/** The `facts` key holding the module's digest: a fact, since the module's code is an input that is not a file of the step. */
const MODULE_DIGEST_FACT = 'module.digest';

/** Remember the content digest of a module loaded from files. */
export function recordModuleDigest(module: AnyModule, digest: string): void {
  digests.set(module, digest);
}

/** Stamp the module's digest into the steps it returned (their fingerprint's `facts`). */
export function stampModuleDigest(module: AnyModule, steps: Step[]): void {
  const digest = digests.get(module);
  if (!digest) return;
  for (const s of steps) s.facts = { ...s.facts, [MODULE_DIGEST_FACT]: digest };
}
