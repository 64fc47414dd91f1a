/** HTML-escaped text (also safe in single- or double-quoted attributes and in SVG text). */
export function h(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
