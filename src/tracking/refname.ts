/** Git ref-name rules (`git check-ref-format`), checked in-process (no git call). */

export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name === '@') return 'is "@"';
  if (name.startsWith('/') || name.endsWith('/')) return 'begins or ends with "/"';
  if (name.includes('//')) return 'contains "//"';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.endsWith('.')) return 'ends with "."';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'contains a forbidden character (space, control, ~ ^ : ? * [ \\)';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `has a component "${part}" beginning with "."`;
    if (part.endsWith('.lock')) return `has a component "${part}" ending with ".lock"`;
  }
  return undefined;
}

export function isValidRefName(name: string): boolean {
  return refNameProblem(name) === undefined;
}

export function assertRefName(name: string, what = 'ref'): string {
  const p = refNameProblem(name);
  if (p) throw new Error(`invalid ${what} name "${name}": ${p}`);
  return name;
}
