// Bundles the CLI into dist/cli.mjs: one file (plus lazily loaded chunks) starts several
// times faster than hundreds of separately resolved ES modules. Heavy or file-relative
// dependencies (Dagger SDK, CycloneDX, the HCL parser's WebAssembly) stay external and load
// only when a command needs them.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

// Chunk names carry content hashes: clear the old ones so dist/ holds exactly this build.
rmSync(new URL('./dist/chunks/', import.meta.url), { recursive: true, force: true });

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['yaml', '@dagger.io/dagger', '@cyclonedx/cyclonedx-library', '@cdktf/hcl2json', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'],
  define: { __ATMOS_PIPE_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __atmosCreateRequire } from 'node:module'; const require = __atmosCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
