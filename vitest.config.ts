import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The package's own entries, as modules/ and pipelines/ import them (tsconfig `paths`): the
  // source files, so tests run what they compile against.
  resolve: {
    alias: [
      { find: /^atmos-pipe\/module$/, replacement: fileURLToPath(new URL('./src/module/index.ts', import.meta.url)) },
      { find: /^atmos-pipe$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/yield.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test time is spent waiting on child processes (terraform, git, bwrap, a registry, a
    // browser), not on this process's CPU: three files at once even on 2 CPUs, where vitest's
    // default would run one (CPUs - 1). Every test uses its own temp dirs, free ports and state.
    maxWorkers: 3,
    minWorkers: 1,
    // clipanion's ES build imports a directory (`../platform`), which Node's ESM loader refuses:
    // transformed by Vite, tests can build the CLI's own clipanion instance (test/prd/conformance.test.ts).
    server: { deps: { inline: ['clipanion'] } },
  },
});
