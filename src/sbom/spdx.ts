/**
 * SPDX 2.3 JSON from the same model as the CycloneDX document: one package per component
 * (purl as a PACKAGE-MANAGER external reference, checksums), `DESCRIBES` for the root and
 * `DEPENDS_ON` for every dependency relation. Deterministic: ids come from bomRefs and the
 * document namespace from a hash of the content.
 */
import { createHash } from 'node:crypto';
import { cyclonedxLibrary, uuidV5 } from './cyclonedx.js';
import type { SbomModel, SbomPackage } from './model.js';

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  primaryPackagePurpose: string;
  description?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

const ALG: Record<string, string> = { 'SHA-1': 'SHA1', 'SHA-256': 'SHA256', 'SHA-384': 'SHA384', 'SHA-512': 'SHA512' };
const PURPOSE: Record<SbomPackage['type'], string> = { application: 'APPLICATION', container: 'CONTAINER', library: 'LIBRARY', framework: 'FRAMEWORK', platform: 'OPERATING-SYSTEM' };

/** `SPDXRef-<name>-<hash of bomRef>`: readable, unique, only letters, digits, `.` and `-`. */
function spdxId(p: SbomPackage): string {
  const label = `${p.group ? `${p.group}-` : ''}${p.name}`
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
  return `SPDXRef-Package-${label || 'package'}-${createHash('sha256').update(p.bomRef).digest('hex').slice(0, 12)}`;
}

/** A license string as an SPDX license expression, or NOASSERTION. */
function declared(ls: string[], isId: (s: string) => boolean, fix: (s: string) => string | undefined): string {
  if (ls.length === 0) return 'NOASSERTION';
  const parts: string[] = [];
  for (const l of ls) {
    // Every identifier of the expression must be a known SPDX id (or a LicenseRef-).
    const tokens = l.replace(/[()]/g, ' ').split(/\s+/).filter(Boolean);
    let ok = tokens.length > 0;
    let afterWith = false;
    const fixed = tokens.map((t) => {
      if (/^(AND|OR|WITH)$/i.test(t)) {
        afterWith = /^WITH$/i.test(t);
        return t.toUpperCase();
      }
      if (afterWith) {
        afterWith = false;
        if (!/^[A-Za-z0-9.-]+$/.test(t)) ok = false;
        return t;
      }
      const plus = t.endsWith('+') ? '+' : '';
      const id = fix(t.replace(/\+$/, ''));
      if (id && isId(id)) return id + plus;
      if (/^LicenseRef-[A-Za-z0-9.-]+$/.test(t)) return t;
      ok = false;
      return t;
    });
    if (!ok) return 'NOASSERTION';
    let i = 0;
    parts.push(l.replace(/[^\s()]+/g, () => fixed[i++]));
  }
  return parts.length === 1 ? parts[0] : parts.map((p) => (/\s/.test(p) ? `(${p})` : p)).join(' AND ');
}

function downloadLocation(p: SbomPackage): string {
  const d = p.externalRefs.find((r) => r.type === 'distribution' && /^https?:\/\/[^#\s]+$/.test(r.url));
  return d ? d.url : 'NOASSERTION';
}

export async function toSpdx(model: SbomModel): Promise<SpdxDocument> {
  const { SPDX } = await cyclonedxLibrary();
  const isId = (s: string) => SPDX.isSupportedSpdxId(s);
  const fix = (s: string) => SPDX.fixupSpdxId(s);
  const ids = new Map<string, string>();
  const all = [model.root, ...model.packages];
  for (const p of all) ids.set(p.bomRef, spdxId(p));
  const packages: SpdxPackage[] = all.map((p) => {
    const checksums = p.hashes.filter((h) => ALG[h.alg]).map((h) => ({ algorithm: ALG[h.alg], checksumValue: h.content }));
    return {
      SPDXID: ids.get(p.bomRef)!,
      name: p.group ? `${p.group}/${p.name}` : p.name,
      ...(p.version ? { versionInfo: p.version } : {}),
      downloadLocation: downloadLocation(p),
      filesAnalyzed: false as const,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: declared(p.licenses, isId, fix),
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: PURPOSE[p.type],
      ...(p.description ? { description: p.description } : {}),
      ...(checksums.length ? { checksums } : {}),
      ...(p.purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }] } : {}),
    };
  });
  packages.sort((a, b) => (a.SPDXID < b.SPDXID ? -1 : 1));
  const relationships: SpdxDocument['relationships'] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: ids.get(model.root.bomRef)! }];
  const edges: SpdxDocument['relationships'] = [];
  for (const [from, tos] of Object.entries(model.dependencies)) {
    for (const to of tos) {
      const a = ids.get(from);
      const b = ids.get(to);
      if (a && b) edges.push({ spdxElementId: a, relationshipType: 'DEPENDS_ON', relatedSpdxElement: b });
    }
  }
  edges.sort((x, y) => (`${x.spdxElementId} ${x.relatedSpdxElement}` < `${y.spdxElementId} ${y.relatedSpdxElement}` ? -1 : 1));
  relationships.push(...edges);
  const name = model.root.bomRef === model.deployment ? `${model.deployment}-${model.target}` : `${model.deployment}-${model.target}-${model.root.name}`.replace(/\//g, '-');
  const doc: SpdxDocument = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: '',
    creationInfo: { created: model.timestamp.replace(/\.\d+Z$/, 'Z'), creators: [`Tool: ${model.tool.name}-${model.tool.version}`] },
    packages,
    relationships,
  };
  const hash = createHash('sha256').update(JSON.stringify(doc)).digest('hex');
  doc.documentNamespace = `https://spdx.org/spdxdocs/${name}-${uuidV5(`atmos-pipe:spdx:${hash}`)}`;
  return doc;
}

export async function toSpdxJson(model: SbomModel): Promise<string> {
  return `${JSON.stringify(await toSpdx(model), null, 2)}\n`;
}
