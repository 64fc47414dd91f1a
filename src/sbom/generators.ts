/**
 * The component registry: one SBOM generator per component type. A new component type
 * adds its generator here; the aggregation and the serializers need no change.
 */
import type { ComponentType } from '../config/names.js';
import type { BuiltImage, ResolvedComponent } from '../resolve/index.js';
import type { ComponentSbom } from './model.js';
import { nixpackSbom } from './nixpack.js';
import { terraformSbom } from './terraform.js';

export interface ImageLayoutInfo {
  configDigest: string;
  layers: number;
  /** Manifest annotations (created, revision, base.name, …). */
  annotations: Record<string, string>;
}

export interface GeneratorContext {
  repoRoot: string;
  /** Where relative `vars.source` paths start (atmos.yaml `base_path`); default: repoRoot. */
  basePath?: string;
  /** `.atmos` (HCL parse cache under `<cacheDir>/cache`). */
  cacheDir: string;
  deployment: string;
  target: string;
  /** Built images by nixpack component name. */
  images: Record<string, BuiltImage>;
  /** The commit the SBOM describes (to flag images built from another one). */
  gitSha?: string;
  /** Details of a stored image (the local OCI layout), if it is there. */
  imageLayout?: (manifestDigest: string) => ImageLayoutInfo | undefined;
}

export type SbomGenerator = (component: ResolvedComponent, ctx: GeneratorContext) => Promise<ComponentSbom>;

export const generators: Record<ComponentType, SbomGenerator> = {
  nixpack: nixpackSbom,
  terraform: terraformSbom,
};
