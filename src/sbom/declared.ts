/**
 * The SBOM of a component of a type a module declares (SPEC 8, 9): its root (the artifact the
 * component is) and what the module says it contains (`componentType.sbom()`, given what its
 * last build produced, as a nixpack component's SBOM names its last built image), each a
 * package of the document like any other.
 */
import { readArtifactStore } from '../cache/images.js';
import type { ModuleRegistry } from '../module/define.js';
import { componentTypesOf } from '../module/define.js';
import type { SbomGenerator } from './context.js';
import { newPackage } from './model.js';

/** The generator for every declared component type of a registry. */
export function declaredSbom(modules: ModuleRegistry | undefined): SbomGenerator {
  const types = componentTypesOf(modules);
  return async (c, ctx) => {
    const type = types.get(c.type)?.componentType;
    const root = newPackage({ bomRef: `${c.address}`, type: 'application', name: c.name, description: type?.description ?? `${c.type} component` });
    const built = readArtifactStore(ctx.cacheDir, ctx.deployment)[c.type]?.[c.name];
    const packages = (await type?.sbom?.({ component: c, repoRoot: ctx.repoRoot, inputs: undefined }, built)) ?? [];
    const contributed = packages.map((p) => newPackage({ ...p, bomRef: p.bomRef ?? `${c.address}/${p.name}` }));
    return {
      component: c.address,
      type: c.type,
      root,
      packages: contributed,
      dependencies: { [root.bomRef]: contributed.map((p) => p.bomRef) },
      sources: [],
      image: null,
      warnings: [],
    };
  };
}
