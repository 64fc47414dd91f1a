/**
 * The table view of `sbom --summary`: a row per component (root package, counts, licenses,
 * image), then the totals and the digest of the CycloneDX document.
 */
import { table, type Colors } from '../../render/index.js';
import type { SbomSummary } from '../../sbom/index.js';

/** `payment-api@sha256:0123456789ab…` */
function shortImage(ref: string): string {
  const m = /^(.*@sha256:)([0-9a-f]{12})[0-9a-f]+$/.exec(ref);
  return m ? `${m[1]}${m[2]}…` : ref;
}

/** At most three licenses, then how many more. */
function licenses(list: string[]): string {
  if (list.length === 0) return '-';
  return list.length > 3 ? `${list.slice(0, 3).join(', ')} +${list.length - 3}` : list.join(', ');
}

/** The summary as a table, with a dimmed line of totals. */
export function renderSbomSummary(s: SbomSummary, c: Colors): string {
  const rows = s.components.map((x) => [
    x.component,
    x.type,
    x.version ? `${x.name}@${x.version}` : x.name,
    String(x.packages),
    String(x.direct),
    licenses(x.licenses),
    x.image ? shortImage(x.image) : '-',
  ]);
  const head = table(['COMPONENT', 'TYPE', 'ROOT', 'PACKAGES', 'DIRECT', 'LICENSES', 'IMAGE'], rows, c);
  return `${head}${c.dim(`${s.packages} distinct packages in ${s.components.length} component${s.components.length === 1 ? '' : 's'}; CycloneDX ${s.digest}`)}\n`;
}
