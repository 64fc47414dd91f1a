/**
 * The layers of atmos-pipe, checked by a tool rather than by review (issue 12; README
 * "Architecture"). Data flows one way: config → stacks → resolve → graph → pipelines/modules
 * → engine → tracking, with src/cli on top.
 *
 * Run: `npx depcruise src modules pipelines bench .dagger --config .dependency-cruiser.cjs`
 */

/** npm packages, node builtins: what any package, a user's module included, may import. */
const EXTERNAL = ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'];

/**
 * A rule that fails the check: every one here is an error, since `npm run lint:deps` passes
 * only with none of them broken.
 * @returns {import('dependency-cruiser').IForbiddenRuleType}
 */
function forbid(name, comment, from, to) {
  return { name, severity: 'error', comment, from, to };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'no-circular',
      'Import cycles hide which layer comes first; type-only cycles count too, since they tie the two files to each other just the same.',
      {},
      { circular: true },
    ),
    forbid(
      'engine-knows-no-module',
      'The engine runs steps; it knows no module, no pipeline and no command (ARCHITECTURE: "the engine knows nothing about Terraform or nixpacks").',
      { path: '^src/engine/' },
      { path: '^(modules|pipelines|src/cli)/' },
    ),
    forbid(
      'nothing-imports-cli',
      'src/cli is the top layer: it parses flags and renders. The library, modules, pipelines and bench use the library, never the CLI.',
      { pathNot: '^src/cli/' },
      { path: '^src/cli/' },
    ),
    forbid(
      'modules-use-the-public-api',
      'A built-in module is written exactly as a user\'s own: it imports `atmos-pipe/module`, npm packages, node builtins and its own folder, nothing else.',
      { path: '^(modules/[^/]+)/' },
      { pathNot: ['^$1/', '^src/module/index\\.ts$'], dependencyTypesNot: EXTERNAL },
    ),
    forbid(
      'pipelines-use-the-public-api',
      'A built-in pipeline imports `atmos-pipe/module`, npm packages, node builtins and its own folder; it names its modules (`useModule`) and the run binds them from a registry.',
      { path: '^pipelines/' },
      { pathNot: ['^pipelines/', '^src/module/index\\.ts$'], dependencyTypesNot: EXTERNAL },
    ),
    forbid(
      'the-module-registry-lists-modules',
      'modules/index.ts registers the built-in modules by name: it imports `atmos-pipe/module` and each module\'s entry, nothing else.',
      { path: '^modules/index\\.ts$' },
      { pathNot: ['^src/module/index\\.ts$', '^modules/[^/]+/index\\.ts$'], dependencyTypesNot: EXTERNAL },
    ),
    forbid(
      'public-api-by-its-package-name',
      'modules/ and pipelines/ import the public API as `atmos-pipe/module` (tsconfig `paths`), not by a relative path into src/, so that they read as a user\'s code.',
      { path: '^(modules|pipelines)/' },
      { path: '^src/', dependencyTypesNot: ['aliased-tsconfig-paths'] },
    ),
    forbid(
      'library-imports-no-module-or-pipeline',
      'src/ is the library: it never imports modules/ or pipelines/. The CLI has its own rule below.',
      { path: '^src/', pathNot: '^src/cli/' },
      { path: '^(modules|pipelines)/' },
    ),
    forbid(
      'cli-loads-only-the-registries',
      'The CLI finds the built-in pipelines and modules through their registries (pipelines/index.ts, modules/index.ts) and nothing else of modules/ or pipelines/.',
      { path: '^src/cli/' },
      { path: '^(modules|pipelines)/', pathNot: ['^pipelines/index\\.ts$', '^modules/index\\.ts$'] },
    ),
    forbid(
      'no-src-vendor',
      'src/vendor is renamed src/vendoring: tools (GitHub linguist, duplicate finders, code maps) take a folder named vendor for third-party code.',
      {},
      { path: '^src/vendor/' },
    ),
    forbid(
      'the-dagger-module-runs-the-cli',
      'The Dagger module (.dagger/) runs the atmos-pipe CLI in a container: it imports the Dagger SDK, node builtins and its own folder, never the library (which the container builds from the repository).',
      { path: '^\\.dagger/' },
      { pathNot: ['^\\.dagger/', '(^|/)node_modules/@dagger\\.io/dagger/'], dependencyTypesNot: ['core'] },
    ),
    forbid(
      'not-to-test',
      'Shipped code never depends on test code.',
      { pathNot: '^test/' },
      { path: '^test/' },
    ),
    forbid(
      'not-to-unresolvable',
      'An import that resolves to no file: a typo, a missing package or a path that moved.',
      {},
      { couldNotResolve: true },
    ),
    forbid(
      'no-non-package-json',
      'An npm package used but not declared in package.json: it works here by accident (hoisting) and breaks for users.',
      {},
      { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    ),
    forbid(
      'not-to-dev-dep',
      'What ships (src, modules, pipelines) must not need a devDependency at run time; type-only imports are erased and fine.',
      { path: '^(src|modules|pipelines)/' },
      { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['node_modules/@types/'] },
    ),
    forbid(
      'no-deprecated-core',
      'A deprecated node builtin.',
      {},
      { dependencyTypes: ['core'], path: '^(punycode|domain|constants|sys|_linklist|_stream_wrap)$' },
    ),
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['(^|/)fixtures/', '^dist/', '(^|/)\\.atmos/'] },
    // Type-only imports are layer dependencies too (a module importing an engine type knows the engine).
    tsPreCompilationDeps: true,
    // Resolves `atmos-pipe/module` through tsconfig `paths` to src/module/index.ts.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
