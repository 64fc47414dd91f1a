import { NIXPACKS_BASE_IMAGE, STANDALONE_IMAGE, type BuildPlan } from '../types.js';
import type { SourceTree } from './app.js';
import { phase, type Found, type Provider } from './provider.js';

/**
 * Go (nixpacks `src/providers/go.rs`): detected by `go.mod` (or a bare `main.go`); the
 * toolchain follows the `go` directive of go.mod; the binary is built to `./out` and,
 * with CGO disabled, run in a slim image.
 */

const BINARY = 'out';
const GO_BUILD_CACHE = '/root/.cache/go-build';
/** Go minor -> [nix package, nixpkgs revision], as nixpacks pins them. */
const GO_VERSIONS: Record<string, [string, string]> = {
  '1.18': ['go_1_18', '5148520bfab61f99fd25fb9ff7bfbb50dad3c9db'],
  '1.19': ['go_1_19', '5148520bfab61f99fd25fb9ff7bfbb50dad3c9db'],
  '1.20': ['go_1_20', '1f13eabcd6f5b00fe9de9575ac52c66a0e887ce6'],
  '1.21': ['go_1_21', '1f13eabcd6f5b00fe9de9575ac52c66a0e887ce6'],
  '1.22': ['go', 'e89cf1c932006531f454de7d652163a9a5c86668'],
  '1.23': ['go_1_23', '05bbf675397d5366259409139039af8077d695ce'],
};
export const DEFAULT_GO_VERSION = '1.22';

/** The `go` directive of a go.mod (major.minor), if any. */
export function goDirective(goMod: string): string | undefined {
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const m = /^go\s+(\d+)\.(\d+)(?:\.\d+)?(?:rc\d+|beta\d+)?$/.exec(line);
    if (m) return `${m[1]}.${m[2]}`;
  }
  return undefined;
}

function goVersion(app: SourceTree): { version: string; from: string } {
  const declared = app.hasFile('go.mod') ? goDirective(app.read('go.mod')) : undefined;
  // Like nixpacks: a version it has no pinned toolchain for falls back to the default.
  if (declared && GO_VERSIONS[declared]) return { version: declared, from: 'go.mod' };
  return { version: DEFAULT_GO_VERSION, from: 'default' };
}

function buildCmd(app: SourceTree): string | undefined {
  const isModule = app.hasFile('go.mod');
  const rootGoFiles = app.list('.').some((e) => !e.dir && e.name.endsWith('.go'));
  if (isModule && rootGoFiles) return `go build -o ${BINARY}`;
  if (app.hasDir('cmd')) {
    const first = app.list('cmd').find((e) => e.dir);
    if (first) return `go build -o ${BINARY} ./cmd/${first.name}`;
  }
  if (isModule) return `go build -o ${BINARY}`;
  if (app.hasFile('main.go')) return `go build -o ${BINARY} main.go`;
  return undefined;
}

export const go: Provider = {
  name: 'go',
  looksFor: 'go.mod or main.go',
  detect(app): Found | undefined {
    const evidence = app.firstFile(['go.mod', 'main.go']);
    if (!evidence) return undefined;
    const { version, from } = goVersion(app);
    return { evidence, version, versionFrom: from };
  },
  plan(app): BuildPlan {
    const { version } = goVersion(app);
    const [pkg, archive] = GO_VERSIONS[version];
    const build = buildCmd(app);
    return {
      providers: ['go'],
      buildImage: NIXPACKS_BASE_IMAGE,
      variables: { CGO_ENABLED: '0' },
      phases: {
        setup: phase({ name: 'setup', nixPkgs: [pkg], nixpkgsArchive: archive }),
        install: phase({
          name: 'install',
          dependsOn: ['setup'],
          cmds: app.hasFile('go.mod') ? ['go mod download'] : [],
          cacheDirectories: [GO_BUILD_CACHE],
        }),
        build: phase({
          name: 'build',
          dependsOn: ['install'],
          cmds: build ? [build] : [],
          cacheDirectories: [GO_BUILD_CACHE],
        }),
      },
      start: { cmd: build ? `./${BINARY}` : null, runImage: STANDALONE_IMAGE },
    };
  },
};
