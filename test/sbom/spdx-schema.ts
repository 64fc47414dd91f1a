/**
 * The required fields of an SPDX 2.3 JSON document (spec chapters 6, 7 and 11), as a strict
 * zod schema, plus the cross-references the JSON schema cannot express.
 */
import { z } from 'zod';

const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;
const HEX = /^[0-9a-f]+$/;
const LICENSE = z.string().regex(/^(NOASSERTION|NONE|[A-Za-z0-9.+()\- ]+)$/);

const checksum = z.strictObject({
  algorithm: z.enum(['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'SHA3-256', 'SHA3-384', 'SHA3-512', 'BLAKE2b-256', 'BLAKE2b-384', 'BLAKE2b-512', 'BLAKE3', 'MD2', 'MD4', 'MD5', 'MD6', 'ADLER32']),
  checksumValue: z.string().regex(HEX),
});

const externalRef = z.strictObject({
  referenceCategory: z.enum(['SECURITY', 'PACKAGE-MANAGER', 'PACKAGE_MANAGER', 'PERSISTENT-ID', 'PERSISTENT_ID', 'OTHER']),
  referenceType: z.string().min(1),
  referenceLocator: z.string().min(1).regex(/^\S+$/),
});

export const spdxPackage = z.strictObject({
  SPDXID: z.string().regex(SPDX_ID),
  name: z.string().min(1),
  versionInfo: z.string().min(1).optional(),
  downloadLocation: z.union([z.literal('NOASSERTION'), z.literal('NONE'), z.string().regex(/^(https?|git\+[a-z]+):\/\/\S+$/)]),
  filesAnalyzed: z.boolean(),
  licenseConcluded: LICENSE,
  licenseDeclared: LICENSE,
  copyrightText: z.string().min(1),
  primaryPackagePurpose: z.enum(['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING-SYSTEM', 'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER']),
  description: z.string().optional(),
  checksums: z.array(checksum).min(1).optional(),
  externalRefs: z.array(externalRef).min(1).optional(),
});

export const spdxDocument = z.strictObject({
  spdxVersion: z.literal('SPDX-2.3'),
  dataLicense: z.literal('CC0-1.0'),
  SPDXID: z.literal('SPDXRef-DOCUMENT'),
  name: z.string().min(1),
  documentNamespace: z.url().refine((u) => !u.includes('#'), 'documentNamespace must not contain "#"'),
  creationInfo: z.strictObject({
    created: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    creators: z.array(z.string().regex(/^(Tool|Organization|Person): \S.*$/)).min(1),
  }),
  packages: z.array(spdxPackage).min(1),
  relationships: z
    .array(
      z.strictObject({
        spdxElementId: z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/),
        relationshipType: z.enum(['DESCRIBES', 'DESCRIBED_BY', 'CONTAINS', 'CONTAINED_BY', 'DEPENDS_ON', 'DEPENDENCY_OF', 'DEV_DEPENDENCY_OF', 'OPTIONAL_DEPENDENCY_OF', 'OTHER']),
        relatedSpdxElement: z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/),
      }),
    )
    .min(1),
});

/** Schema errors plus dangling or duplicate ids; empty when the document is valid. */
export function spdxProblems(text: string): string[] {
  const r = spdxDocument.safeParse(JSON.parse(text));
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const doc = r.data;
  const out: string[] = [];
  const ids = new Set<string>();
  for (const p of doc.packages) {
    if (ids.has(p.SPDXID)) out.push(`duplicate SPDXID ${p.SPDXID}`);
    ids.add(p.SPDXID);
  }
  ids.add('SPDXRef-DOCUMENT');
  for (const rel of doc.relationships) {
    for (const id of [rel.spdxElementId, rel.relatedSpdxElement]) if (!ids.has(id)) out.push(`relationship refers to unknown ${id}`);
  }
  if (!doc.relationships.some((r2) => r2.spdxElementId === 'SPDXRef-DOCUMENT' && r2.relationshipType === 'DESCRIBES')) out.push('nothing is DESCRIBED');
  return out;
}
