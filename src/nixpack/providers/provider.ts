import type { BuildPlan, Detection, PlanPhase, ProviderName, StartPhase } from '../types.js';
import type { SourceTree } from './app.js';

export type Found = Omit<Detection, 'provider'>;

export interface Provider {
  name: ProviderName;
  /** What the provider looks for, for the "no provider matched" hint. */
  looksFor: string;
  detect(app: SourceTree): Found | undefined;
  plan(app: SourceTree, found: Found): BuildPlan;
}

const PHASE_KEYS = [
  'name',
  'dependsOn',
  'nixPkgs',
  'nixLibs',
  'nixOverlays',
  'nixpkgsArchive',
  'aptPkgs',
  'cmds',
  'onlyIncludeFiles',
  'cacheDirectories',
  'paths',
] as const satisfies readonly (keyof PlanPhase)[];

/** A phase with its keys in one fixed order and without empty lists (stable JSON). */
export function phase(p: PlanPhase): PlanPhase {
  const out: Record<string, unknown> = {};
  for (const k of PHASE_KEYS) {
    const v = p[k];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      out[k] = [...v];
    } else if (v !== '' || k === 'name') {
      out[k] = v;
    }
  }
  return out as unknown as PlanPhase;
}

export function start(s: StartPhase): StartPhase {
  const out: StartPhase = { cmd: s.cmd ?? null };
  if (s.runImage) out.runImage = s.runImage;
  if (s.onlyIncludeFiles?.length) out.onlyIncludeFiles = [...s.onlyIncludeFiles];
  if (s.user) out.user = s.user;
  return out;
}

function sortedRecord(r: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort()) out[k] = r![k];
  return out;
}

/** The plan in canonical form: fixed key order, phases setup/install/build first, sorted maps. */
export function canonicalPlan(p: BuildPlan): BuildPlan {
  const phases: Record<string, PlanPhase> = {};
  const names = Object.keys(p.phases);
  const order = ['setup', 'install', 'build'];
  const rest = names.filter((n) => !order.includes(n)).sort();
  for (const n of [...order.filter((o) => names.includes(o)), ...rest]) phases[n] = phase({ ...p.phases[n], name: n });
  const out: BuildPlan = {
    providers: [...p.providers],
    buildImage: p.buildImage,
    variables: sortedRecord(p.variables),
    phases,
    start: start(p.start),
  };
  if (p.staticAssets && Object.keys(p.staticAssets).length) {
    // keep `staticAssets` right after `variables`, as nixpacks prints it
    return {
      providers: out.providers,
      buildImage: out.buildImage,
      variables: out.variables,
      staticAssets: sortedRecord(p.staticAssets),
      phases: out.phases,
      start: out.start,
    };
  }
  return out;
}

/** Append without duplicates, keeping first occurrences in order. */
export function appendUnique(list: string[] | undefined, more: readonly string[]): string[] {
  const out = [...(list ?? [])];
  for (const m of more) if (!out.includes(m)) out.push(m);
  return out;
}
