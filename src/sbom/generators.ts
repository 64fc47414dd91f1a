/**
 * The component registry: one SBOM generator per component type. A new component type
 * adds its generator here; the aggregation and the serializers need no change.
 */
import type { ComponentType } from '../config/names.js';
import type { SbomGenerator } from './context.js';
import { nixpackSbom } from './nixpack.js';
import { terraformSbom } from './terraform.js';

export const generators: Record<ComponentType, SbomGenerator> = {
  nixpack: nixpackSbom,
  terraform: terraformSbom,
};
