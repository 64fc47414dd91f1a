/**
 * What a module may do beyond returning steps, as functions over its {@link ModuleContext}:
 * keep secrets out of the CAS and open values the scheduler stored sealed, and record the
 * image a build produced. Each is the one way the run itself does it, so a user's module
 * behaves as a built-in one.
 */
import path from 'node:path';
import { secretKey } from '../cache/actions.js';
import { writeImageStore } from '../cache/images.js';
import { opened, secrets, unsealSensitive } from '../secrets/index.js';
import type { ModuleContext } from './define.js';

/** The per-repository key sealed values are encrypted with (under the cache dir). */
function sealingKey(ctx: ModuleContext<unknown>): Buffer {
  return secretKey(path.join(ctx.cacheDir, 'cache'));
}

/**
 * A step's value output as the module may read it: opened in memory when the scheduler stored
 * it sealed (`Step.sealValues`), else as it is.
 */
export function openValue(ctx: ModuleContext<unknown>, value: unknown): unknown {
  return opened(value, sealingKey(ctx));
}

/**
 * The `{ "sensitive": true, "value": … }` entries of a value output (the shape of
 * `terraform output -json`), which the scheduler stores sealed, opened in memory and masked in
 * everything printed from now on.
 */
export function openSensitive(ctx: ModuleContext<unknown>, value: unknown): unknown {
  return unsealSensitive(value, sealingKey(ctx));
}

/** Whether a text holds a secret value of this run (e.g. an upstream's sensitive output). */
export function holdsSecret(text: string): boolean {
  return secrets.contains(text);
}

/**
 * Keeps a secret value under `key` for this run (masked in every output): a step receives it
 * as env by naming `key` in its `secretSources`, and it never enters a fingerprint or the CAS.
 */
export function keepSecret(key: string, value: string): void {
  secrets.set(key, value);
}

/**
 * The value a step's secret `name` has when the step runs, as the scheduler passes it: from its
 * source in the run's secret store (`secretSources`), else the runner's variable of that name.
 * For reading what the step will read (e.g. the connection of a state fact); never store it.
 */
export function stepSecretValue(secretSources: Record<string, string> | undefined, name: string): string | undefined {
  const source = secretSources?.[name];
  return source ? secrets.get(source) : process.env[name];
}

/**
 * Records the image a build produced for the component (`<cache>/images/built.json`): what
 * `describe`, bindings and releases use until a release pins one. A dry run records nothing.
 */
export function recordImage(ctx: ModuleContext<unknown>, image: { ref: string; digest: string }): void {
  if (ctx.options.dryRun) return;
  writeImageStore(ctx.cacheDir, ctx.deployment, ctx.component.name, image);
}
