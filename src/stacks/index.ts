/**
 * The Atmos-compatible stacks layer (SPEC 3.1).
 *
 *  - `loadStack(imports, opts, files?)`: the virtual top-level stack whose imports are exactly
 *    `imports` (a deployment's `stacks:` then the target's), merged like Atmos merges imports;
 *  - `resolveComponent(stack, type, name, {inherits?})`: `atmos describe component`;
 *  - `loadAllStacks(opts, files?)`: `atmos describe stacks` (every top-level stack file);
 *  - `withStackNames(entries, …)`: `stacks:` entries that are Atmos stack names, as files.
 *
 * Files: `fileinfo.ts` (reading and checking one stack file), `imports.ts` (where an import
 * points), `load.ts` (imports, merge order, overrides scoping, caches), `components.ts`
 * (inheritance and the final component), `all.ts` (every stack), `names.ts` (stack names).
 */
export { loadStack } from './load.js';
export { resolveComponent } from './components.js';
export { loadAllStacks } from './all.js';
export { withStackNames } from './names.js';
export type { ListMergeStrategy } from './merge.js';
