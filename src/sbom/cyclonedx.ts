/**
 * CycloneDX 1.6 JSON through `@cyclonedx/cyclonedx-library` (loaded on first use), with
 * sorted lists so that the same model always gives the same bytes. The serial number is
 * a name-based UUID (v5) of the document's content, so it is deterministic too.
 */
import { createHash } from 'node:crypto';
import type { SbomModel, SbomPackage } from './model.js';

type CDX = typeof import('@cyclonedx/cyclonedx-library');
let lib: Promise<CDX> | undefined;
export function cyclonedxLibrary(): Promise<CDX> {
  lib ??= import('@cyclonedx/cyclonedx-library');
  return lib;
}

/** RFC 4122 name-based UUID (version 5, SHA-1) of `name` in the URL namespace. */
export function uuidV5(name: string): string {
  const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex'); // NameSpace_URL
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const EXPRESSION = /(^\(|\s(AND|OR|WITH)\s)/i;

export async function toCycloneDx(model: SbomModel): Promise<string> {
  const CDX = await cyclonedxLibrary();
  const { Models, Enums, Serialize, Spec, SPDX } = CDX;

  const typeOf: Record<SbomPackage['type'], InstanceType<typeof Models.Component>['type']> = {
    application: Enums.ComponentType.Application,
    container: Enums.ComponentType.Container,
    library: Enums.ComponentType.Library,
    framework: Enums.ComponentType.Framework,
    platform: Enums.ComponentType.Platform,
  };
  const scopeOf = { required: Enums.ComponentScope.Required, optional: Enums.ComponentScope.Optional, excluded: Enums.ComponentScope.Excluded } as const;
  const refTypeOf = { distribution: Enums.ExternalReferenceType.Distribution, vcs: Enums.ExternalReferenceType.VCS, website: Enums.ExternalReferenceType.Website } as const;

  const licensesOf = (ls: string[]) => {
    const repo = new Models.LicenseRepository();
    const exprs = ls.filter((l) => EXPRESSION.test(l));
    if (exprs.length === 1 && ls.length === 1) {
      repo.add(new Models.LicenseExpression(exprs[0]));
      return repo;
    }
    for (const l of ls) {
      const id = SPDX.fixupSpdxId(l);
      repo.add(id && SPDX.isSupportedSpdxId(id) ? new Models.SpdxLicense(id) : new Models.NamedLicense(l));
    }
    return repo;
  };
  const hashesOf = (hs: SbomPackage['hashes']) => {
    const d = new Models.HashDictionary();
    for (const h of hs) d.set(h.alg as never, h.content);
    return d;
  };

  const component = (p: SbomPackage) => {
    const c = new Models.Component(typeOf[p.type], p.name, {
      bomRef: p.bomRef,
      ...(p.group ? { group: p.group } : {}),
      ...(p.version ? { version: p.version } : {}),
      ...(p.purl ? { purl: p.purl } : {}),
      ...(p.description ? { description: p.description } : {}),
      ...(p.scope && p.type !== 'application' ? { scope: scopeOf[p.scope] } : {}),
      hashes: hashesOf(p.hashes),
      licenses: licensesOf(p.licenses),
    });
    for (const r of p.externalRefs) c.externalReferences.add(new Models.ExternalReference(r.url, refTypeOf[r.type], { hashes: hashesOf(r.hashes ?? []) }));
    for (const [k, v] of p.properties) c.properties.add(new Models.Property(k, v));
    return c;
  };

  const bom = new Models.Bom();
  bom.metadata.timestamp = new Date(model.timestamp);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, model.tool.name, { version: model.tool.version }));
  bom.metadata.properties.add(new Models.Property('atmos:deployment', model.deployment));
  bom.metadata.properties.add(new Models.Property('atmos:target', model.target));
  if (model.git.sha) bom.metadata.properties.add(new Models.Property('atmos:git:sha', model.git.sha));
  const root = component(model.root);
  bom.metadata.component = root;
  const all = new Map<string, InstanceType<typeof Models.Component>>([[model.root.bomRef, root]]);
  for (const p of model.packages) {
    const c = component(p);
    all.set(p.bomRef, c);
    bom.components.add(c);
  }
  for (const [from, tos] of Object.entries(model.dependencies)) {
    const c = all.get(from);
    if (!c) continue;
    for (const to of tos) {
      const t = all.get(to);
      if (t) c.dependencies.add(t.bomRef);
    }
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const unsigned = serializer.serialize(bom, { sortLists: true, space: 2 });
  bom.serialNumber = `urn:uuid:${uuidV5(`atmos-pipe:sbom:${createHash('sha256').update(unsigned).digest('hex')}`)}`;
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

/**
 * Validate a CycloneDX 1.6 JSON document against the official schema (strict: no
 * additional properties). Null when valid; otherwise a description of the errors.
 */
let validator: Promise<{ validate(text: string): Promise<unknown> }> | undefined;
export async function validateCycloneDx(text: string): Promise<string | null> {
  // One validator per process: compiling the schema costs most of a second, validating is quick.
  validator ??= cyclonedxLibrary().then(({ Validation, Spec }) => new Validation.JsonStrictValidator(Spec.Version.v1dot6));
  try {
    const errors = await (await validator).validate(text);
    return errors === null || errors === undefined ? null : JSON.stringify(errors);
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  }
}
