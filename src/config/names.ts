/**
 * Names (SPEC 3 "Names"). Deployment, target and component names become Git ref
 * components (`refs/atmos/deployments/<d>/<t>/<component>`), so they are checked before
 * anything is read or written.
 */
import { refNameProblem } from '../tracking/refname.js';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_NAME = 63;
const COMPONENT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Problem with a deployment or target name, or undefined when valid. */
export function checkKebabName(name: string): string | undefined {
  if (!name) return 'must not be empty';
  if (name.length > MAX_NAME) return `must be at most ${MAX_NAME} characters (has ${name.length})`;
  if (!KEBAB.test(name)) return 'must be kebab-case: lowercase letters and digits separated by single hyphens';
  return undefined;
}

/**
 * Longest component name segment, in bytes: it is a file name in `.git/refs/…` and in
 * `.atmos/state/…` (with `.tfstate` appended), and ext4 allows 255 bytes per file name.
 */
const MAX_SEGMENT_BYTES = 100;
/** Longest ref or tag atmos-pipe writes for a component (a conservative bound on Git hosts and file systems). */
const MAX_REF_BYTES = 255;
/** A history tag's timestamp segment (`20261122T061500.123Z`). */
const TIMESTAMP_SEGMENT = '20261122T061500.123Z';

/** Problem with a component name (`ecs/service-api`), or undefined when valid. */
export function checkComponentName(name: string): string | undefined {
  if (!name) return 'must not be empty';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.endsWith('.lock')) return 'must not end in ".lock"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'must not begin or end with "/" nor contain "//"';
  for (const seg of name.split('/')) {
    if (!COMPONENT_SEGMENT.test(seg)) {
      return `segment "${seg}" must start with a letter or digit and contain only letters, digits, "_", "." and "-"`;
    }
    if (seg.endsWith('.lock')) return `segment "${seg}" must not end in ".lock"`;
    if (seg.endsWith('.')) return `segment "${seg}" must not end in "."`;
    const bytes = Buffer.byteLength(seg);
    if (bytes > MAX_SEGMENT_BYTES) return `segment "${seg.slice(0, 20)}…" is ${bytes} bytes long; at most ${MAX_SEGMENT_BYTES}`;
  }
  // Belt and braces: the ref it becomes passes Git's own rules (git check-ref-format).
  const p = refNameProblem(`refs/atmos/deployments/d/t/${name}`);
  if (p) return `is not a valid Git ref component: the ref ${p}`;
  return undefined;
}

/**
 * Problem with the refs a component of deployment `d` writes for target `t` (current-state
 * ref and history tag), or undefined: the longest of them must stay within {@link MAX_REF_BYTES}.
 */
export function checkComponentRefLength(deployment: string, target: string, name: string): string | undefined {
  const tag = `refs/tags/atmos/deployments/${deployment}/${target}/${name}/${TIMESTAMP_SEGMENT}`;
  const bytes = Buffer.byteLength(tag);
  if (bytes > MAX_REF_BYTES)
    return `makes the history tag of target "${target}" ${bytes} bytes long (refs/tags/atmos/deployments/${deployment}/${target}/<component>/<timestamp>); at most ${MAX_REF_BYTES}`;
  return undefined;
}

/**
 * Pairs of component names whose refs collide: `vpc` and `vpc/sub` become
 * `refs/…/vpc` and `refs/…/vpc/sub`, and a ref cannot be both a file and a directory.
 * Returns [shorter, longer] pairs.
 */
export function refPrefixCollisions(names: string[]): [string, string][] {
  const set = new Set(names);
  const out: [string, string][] = [];
  for (const n of names) {
    const segs = n.split('/');
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      if (set.has(prefix)) out.push([prefix, n]);
    }
  }
  return out;
}

/** The built-in component types (modules declare more: src/module `componentType`). */
export type ComponentType = 'terraform' | 'nixpack';

/** `terraform/ecs/service-api`, `zip/fn` (a type a module declares) */
export function componentAddress(type: string, name: string): string {
  return `${type}/${name}`;
}
