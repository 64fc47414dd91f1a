/**
 * Credentials (SPEC 4.1): which environment variables reach steps, as plain env and as
 * secrets. (The masker is mask.ts, sealing of sensitive values at rest seal.ts.)
 *
 * Declared in atmos.yaml (`deployments.env` / `deployments.secrets`), in the deployment
 * (`deployment.env` / `deployment.secrets`), per target (`targets.<t>.env` / `.secrets`) and
 * per component (`components.<type>.<c>.secrets`; a Terraform component's own `env` map stays
 * its plain env and wins over declared env):
 *
 *   env:                       # plain env: part of the fingerprint like any env (not secret)
 *     - AWS_PROFILE            #   passed through from the runner's environment (when set)
 *     - TF_LOG=warn            #   or NAME=value (a map NAME: value works too)
 *   secrets:                   # values HMAC'd into the fingerprint, never stored, masked
 *     - AWS_SECRET_ACCESS_KEY  #   the runner's variable of the same name
 *     - name: ARM_CLIENT_SECRET
 *       from_env: CI_ARM_SECRET          # another variable of the runner
 *     - name: GOOGLE_CREDENTIALS
 *       from_file: /run/secrets/gcp.json # the content of a file on the runner (relative paths:
 *                                        # to the repository root; one trailing newline dropped)
 *       optional: true                   # missing: the step runs without it (default: exit 2)
 *
 * Levels add up, later ones win by name: atmos.yaml, deployment, target, component. A name
 * declared as a secret is never also plain env.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { locOf } from '../yaml/index.js';
import { MIN_MASKED_LENGTH, type SecretStore } from './mask.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, 'must be an environment variable name (letters, digits, _)');

/** One `secrets:` entry: a variable name, or where its value comes from. */
const secretEntrySchema = z.union([
  envName,
  z
    .strictObject({ name: envName, from_env: envName.optional(), from_file: z.string().min(1).optional(), optional: z.boolean().optional() })
    .refine((s) => !(s.from_env !== undefined && s.from_file !== undefined), { message: 'from_env and from_file are mutually exclusive' }),
]);
export const secretListSchema = z.array(secretEntrySchema);

/** `env:` at deployment, target and atmos.yaml level: `NAME` (passed through) or `NAME=value`, or a map. */
export const envListSchema = z.union([
  z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(=[\s\S]*)?$/, 'must be NAME (passed through from the environment) or NAME=value')),
  z.record(envName, z.union([z.string(), z.number(), z.boolean()])),
]);

export type SecretEntry = z.infer<typeof secretEntrySchema>;
export type EnvEntries = z.infer<typeof envListSchema>;

/** A declared secret, normalised. */
export interface SecretDecl {
  /** Name of the variable inside the step. */
  name: string;
  /** Where the value comes from: `env:<NAME>` or `file:<absolute path>`. */
  source: string;
  optional: boolean;
  location?: Location;
}

/** A declared plain variable: a fixed value, or passed through from the runner (`value` undefined). */
export interface EnvDecl {
  name: string;
  value?: string;
}

export interface Credentials {
  env: EnvDecl[];
  secrets: SecretDecl[];
}

/** One level's declarations (atmos.yaml, deployment, target or component). */
export interface CredentialLevel {
  env?: EnvEntries;
  secrets?: SecretEntry[];
}

/** Merge levels, lowest first: env by name (later wins), secrets by name (later wins). */
export function mergeCredentials(levels: (CredentialLevel | undefined)[], repoRoot: string): Credentials {
  const env = new Map<string, EnvDecl>();
  const secrets = new Map<string, SecretDecl>();
  for (const l of levels) {
    if (!l) continue;
    if (Array.isArray(l.env)) {
      for (const e of l.env) {
        const i = e.indexOf('=');
        const d: EnvDecl = i < 0 ? { name: e } : { name: e.slice(0, i), value: e.slice(i + 1) };
        env.set(d.name, d);
      }
    } else if (l.env) for (const [k, v] of Object.entries(l.env)) env.set(k, { name: k, value: String(v) });
    (l.secrets ?? []).forEach((s, i) => {
      const location = locOf(l.secrets, i);
      const d: SecretDecl =
        typeof s === 'string'
          ? { name: s, source: `env:${s}`, optional: false }
          : {
              name: s.name,
              source: s.from_file !== undefined ? `file:${path.resolve(repoRoot, s.from_file)}` : `env:${s.from_env ?? s.name}`,
              optional: s.optional ?? false,
            };
      secrets.set(d.name, location ? { ...d, location } : d);
    });
  }
  for (const n of secrets.keys()) env.delete(n); // a secret is never also plain
  return { env: [...env.values()], secrets: [...secrets.values()] };
}

/** Values of plain declared env: fixed values, and pass-throughs that are set. */
export function envValues(decls: EnvDecl[], runner: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of decls) {
    const v = d.value ?? runner[d.name];
    if (v !== undefined) out[d.name] = v;
  }
  return out;
}

function describeSource(source: string): string {
  return source.startsWith('env:') ? `environment variable ${source.slice(4)}` : `file ${source.slice(5)}`;
}

/**
 * Read every declared secret of the given components into the store (before anything
 * runs). A missing required one is a located error (exit 2) naming it, never its value.
 * A file's content loses one trailing newline. Returns the names of values too short to be
 * masked (see {@link MIN_MASKED_LENGTH}).
 */
export function loadSecrets(decls: { component: string; secrets: SecretDecl[] }[], runner: NodeJS.ProcessEnv, store: SecretStore): string[] {
  const problems: Diagnostic[] = [];
  const short = new Set<string>();
  const read = new Map<string, string | undefined>();
  const reported = new Set<string>();
  for (const { component, secrets } of decls) {
    for (const s of secrets) {
      if (!read.has(s.source)) {
        const value = readSource(s.source, runner);
        read.set(s.source, value);
        // A value of an earlier run in this process must not stand in for a missing one.
        if (value === undefined) store.delete(s.source);
        else {
          store.set(s.source, value);
          if (value.length < MIN_MASKED_LENGTH) short.add(s.name);
        }
      }
      if (read.get(s.source) !== undefined || s.optional || reported.has(s.source)) continue;
      reported.add(s.source);
      problems.push(
        error(
          'secrets/missing',
          `secret ${s.name} of ${component} is not available: ${describeSource(s.source)} is ${s.source.startsWith('env:') ? 'not set' : 'missing'}`,
          s.location,
          `set it in the runner's environment, or mark the entry \`optional: true\``,
        ),
      );
    }
  }
  if (problems.length) throw new DiagnosticError(problems);
  return [...short].sort();
}

/** A source's value (undefined when unset, empty or absent); a file loses one trailing newline. */
function readSource(source: string, runner: NodeJS.ProcessEnv): string | undefined {
  let value: string | undefined;
  if (source.startsWith('env:')) value = runner[source.slice(4)];
  else {
    const f = source.slice(5);
    if (existsSync(f) && statSync(f).isFile()) value = readFileSync(f, 'utf8').replace(/\r?\n$/, '');
  }
  return value === '' ? undefined : value;
}

/** A component's declared secrets as step fields: names, and where each value comes from. */
export function stepSecrets(c: Credentials | undefined): { secrets: string[]; secretSources: Record<string, string> } {
  const list = c?.secrets ?? [];
  return { secrets: list.map((s) => s.name).sort(), secretSources: Object.fromEntries(list.map((s) => [s.name, s.source])) };
}

export { MIN_MASKED_LENGTH, SecretStore, secrets } from './mask.js';
export { opened, seal, sealSensitive, unsealSensitive } from './seal.js';
