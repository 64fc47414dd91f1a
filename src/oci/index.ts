/** OCI images: reproducible layers, image assembly, OCI layout store, registry push. */
export * from './digest.js';
export * from './layer.js';
export * from './image.js';
export * from './layout.js';
export * from './registry.js';
export * from './archive.js';
