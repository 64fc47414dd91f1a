/**
 * Names (SPEC 3 "Names"). Deployment, target and component names become Git ref
 * components (`refs/atmos/deployments/<d>/<t>/<component>`), so they are checked before
 * anything is read or written.
 */

export const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const MAX_NAME = 63;
export const COMPONENT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Problem with a deployment or target name, or undefined when valid. */
export function checkKebabName(name: string): string | undefined {
  if (!name) return 'must not be empty';
  if (name.length > MAX_NAME) return `must be at most ${MAX_NAME} characters (has ${name.length})`;
  if (!KEBAB.test(name)) return 'must be kebab-case: lowercase letters and digits separated by single hyphens';
  return undefined;
}

/** Problem with a component name (`ecs/service-api`), or undefined when valid. */
export function checkComponentName(name: string): string | undefined {
  if (!name) return 'must not be empty';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.endsWith('.lock')) return 'must not end in ".lock"';
  for (const seg of name.split('/')) {
    if (!COMPONENT_SEGMENT.test(seg)) {
      return `segment "${seg}" must start with a letter or digit and contain only letters, digits, "_", "." and "-"`;
    }
    if (seg.endsWith('.lock')) return `segment "${seg}" must not end in ".lock"`;
  }
  return undefined;
}

export const COMPONENT_TYPES = ['terraform', 'nixpack'] as const;
export type ComponentType = (typeof COMPONENT_TYPES)[number];

/** `terraform/ecs/service-api` */
export function componentAddress(type: ComponentType, name: string): string {
  return `${type}/${name}`;
}

export function splitAddress(address: string): { type: ComponentType; name: string } | undefined {
  const i = address.indexOf('/');
  if (i < 0) return undefined;
  const type = address.slice(0, i);
  if (!(COMPONENT_TYPES as readonly string[]).includes(type)) return undefined;
  return { type: type as ComponentType, name: address.slice(i + 1) };
}
