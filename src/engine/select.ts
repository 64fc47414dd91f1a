/**
 * Which engine runs the steps (SPEC 4.2). `--engine dagger` and `--engine local` are obeyed;
 * `auto` picks Dagger only when a Dagger engine is plausibly reachable without downloading
 * anything: inside a `dagger run` session (DAGGER_SESSION_PORT), with an explicit CLI
 * (_EXPERIMENTAL_DAGGER_CLI_BIN) or with a `dagger` binary on PATH. Nothing is spawned here:
 * the choice costs a few `access()` calls, and the Dagger SDK is not loaded.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, choicesHint, error } from '../diagnostics/index.js';
import type { EngineChoice } from '../config/atmos.js';
import type { EngineName } from './types.js';

export type { EngineChoice };

export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'local', 'dagger'];

export interface EngineSelection {
  engine: EngineName;
  /** Why this engine (for `--verbose` and the run header). */
  reason: string;
  /** To show once, e.g. why `auto` fell back to the local engine. */
  notice?: string;
}

export const NO_DAGGER_NOTICE = 'no Dagger engine found (DAGGER_SESSION_PORT, _EXPERIMENTAL_DAGGER_CLI_BIN, dagger on PATH): running steps with the local engine';

/** The first executable regular file named `cmd` on `envPath` (no process spawned). */
export function findOnPath(cmd: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Default PATH lookup for the `dagger` CLI. */
export function whichDaggerOnPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath(process.platform === 'win32' ? 'dagger.exe' : 'dagger', env.PATH ?? env.Path);
}

function set(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = env[name];
  return v !== undefined && v !== '';
}

export function selectEngine(choice: EngineChoice, env: NodeJS.ProcessEnv = process.env, whichDagger: (env: NodeJS.ProcessEnv) => string | undefined = whichDaggerOnPath): EngineSelection {
  if (!ENGINE_CHOICES.includes(choice)) {
    throw new DiagnosticError(error('cli/engine', `unknown engine "${String(choice)}"`, undefined, choicesHint(String(choice), [...ENGINE_CHOICES])));
  }
  if (choice === 'local') return { engine: 'local', reason: '--engine local' };
  if (choice === 'dagger') return { engine: 'dagger', reason: '--engine dagger' };
  if (set(env, 'DAGGER_SESSION_PORT')) {
    return { engine: 'dagger', reason: 'auto: DAGGER_SESSION_PORT is set (running inside a Dagger session)' };
  }
  if (set(env, '_EXPERIMENTAL_DAGGER_CLI_BIN')) {
    return { engine: 'dagger', reason: `auto: _EXPERIMENTAL_DAGGER_CLI_BIN is set (${env._EXPERIMENTAL_DAGGER_CLI_BIN})` };
  }
  const bin = whichDagger(env);
  if (bin) return { engine: 'dagger', reason: `auto: dagger CLI found on PATH (${bin})` };
  return { engine: 'local', reason: 'auto: no Dagger engine found', notice: NO_DAGGER_NOTICE };
}
