/**
 * What an SBOM generator receives: the repository, the deployment and target, the built
 * images. Apart from the registry (generators.ts), which imports every generator, so that a
 * generator does not import the registry back.
 */
import type { ResolvedComponent, BuiltImage } from '../resolve/index.js';
import type { ComponentSbom } from './model.js';

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
