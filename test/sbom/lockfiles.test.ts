/**
 * The lock-file readers on realistic lock files: exact purls, hash conversion, scopes and
 * the dependency edges each format records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { parseCargoLock } from '../../src/sbom/lockfiles/cargo.js';
import { parseGoMod, parseGoModules } from '../../src/sbom/lockfiles/go.js';
import { parseNpmLock } from '../../src/sbom/lockfiles/npm.js';
import { parsePoetryLock, parseRequirements } from '../../src/sbom/lockfiles/python.js';
import type { LockGraph, LockInput } from '../../src/sbom/lockfiles/types.js';
import { sriToHashes } from '../../src/sbom/model.js';
import { cargoPurl, golangPurl, npmPurl, purl, pypiPurl } from '../../src/sbom/purl.js';
import { parseToml } from '../../src/sbom/toml.js';
import { LOCAL, SERVICES } from './helpers.js';

const ROOT_REF = 'app/nixpack/x';

function input(dir: string, file: string, text?: string): LockInput {
  const abs = path.join(dir, file);
  return { abs, file, text: text ?? readFileSync(abs, 'utf8'), localRef: ROOT_REF };
}
const edgesOf = (g: LockGraph) => Object.fromEntries([...g.edges].map(([k, v]) => [k, [...v].sort()]).sort());
const pkg = (g: LockGraph, ref: string) => {
  const p = g.packages.find((x) => x.bomRef === ref);
  if (!p) throw new Error(`no ${ref} in ${g.packages.map((x) => x.bomRef).join(', ')}`);
  return p;
};
const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

describe('purls', () => {
  it('encodes npm scopes, Go module paths, PyPI names and qualifiers like the purl spec', () => {
    expect(npmPurl('@types/node', '20.19.43')).toBe('pkg:npm/%40types/node@20.19.43');
    expect(npmPurl('ms', '2.1.3')).toBe('pkg:npm/ms@2.1.3');
    expect(golangPurl('github.com/google/uuid', 'v1.6.0')).toBe('pkg:golang/github.com/google/uuid@v1.6.0');
    expect(golangPurl('github.com/docker/docker', 'v24.0.7+incompatible')).toBe('pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible');
    expect(pypiPurl('Typing_Extensions', '4.6.3')).toBe('pkg:pypi/typing-extensions@4.6.3');
    expect(pypiPurl('zope.interface', '6.0')).toBe('pkg:pypi/zope.interface@6.0');
    expect(cargoPurl('serde_json', '1.0.66')).toBe('pkg:cargo/serde_json@1.0.66');
    expect(purl({ type: 'oci', name: 'api', version: 'sha256:ab', qualifiers: { tag: 'v1', repository_url: 'ghcr.io/acme/api' } })).toBe(
      'pkg:oci/api@sha256:ab?repository_url=ghcr.io/acme/api&tag=v1',
    );
    expect(purl({ type: 'github', namespace: 'acme', name: 'mods', version: 'v1', subpath: 'modules/x' })).toBe('pkg:github/acme/mods@v1#modules/x');
  });

  it('converts SRI integrity to hex hashes', () => {
    const h = sriToHashes('sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA== sha1-2jF1Ll9lN1ztlm+zRx8LNX9ZlFw=');
    expect(h).toEqual([
      { alg: 'SHA-512', content: 'e85973b9b4cb646dc9d9afcd542025784863ceae68c601f268253dc985ef70bb2fa1568726afece715c8ebf5d73fab73ed1f7100eb479d23bfb57b45dd645394' },
      { alg: 'SHA-1', content: 'da31752e5f65375ced966fb3471f0b357f59945c' },
    ]);
    expect(h[0].content).toBe(hex('6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=='));
    expect(sriToHashes('md5-abc')).toEqual([]);
  });
});

describe('package-lock.json', () => {
  it('v3 (node-npm fixture): registry packages with SHA-512 hashes and licenses under the root', () => {
    const g = parseNpmLock(input(path.join(SERVICES, 'node-npm'), 'package-lock.json'));
    expect(g.root).toEqual({ name: 'orders-api', version: '1.0.0' });
    expect(g.packages.map((p) => p.purl).sort()).toEqual(['pkg:npm/ms@2.1.3', 'pkg:npm/picocolors@1.1.1']);
    const ms = pkg(g, 'pkg:npm/ms@2.1.3');
    expect(ms.hashes).toEqual([{ alg: 'SHA-512', content: hex('6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==') }]);
    expect(ms.licenses).toEqual(['MIT']);
    expect(ms.externalRefs).toEqual([{ type: 'distribution', url: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', hashes: ms.hashes }]);
    expect(g.direct).toEqual(['pkg:npm/ms@2.1.3', 'pkg:npm/picocolors@1.1.1']);
    expect(edgesOf(g)).toEqual({});
  });

  it('v2: scoped names, nested node_modules resolved like Node, dev and optional scopes', () => {
    const g = parseNpmLock(input(path.join(LOCAL, 'npm-v2'), 'package-lock.json'));
    expect(g.root).toEqual({ name: '@acme/payments-worker', version: '2.4.0', license: 'UNLICENSED' });
    const types = pkg(g, 'pkg:npm/%40types/node@20.19.43');
    expect(types).toMatchObject({ group: '@types', name: 'node', version: '20.19.43', scope: 'excluded' });
    expect(pkg(g, 'pkg:npm/fsevents@2.3.3').scope).toBe('optional');
    expect(pkg(g, 'pkg:npm/debug@4.4.3').scope).toBe('required');
    // Two versions of path-key: the root gets 3.1.1, npm-run-path its nested 4.0.0.
    expect(g.direct).toEqual(['pkg:npm/%40types/node@20.19.43', 'pkg:npm/debug@4.4.3', 'pkg:npm/fsevents@2.3.3', 'pkg:npm/ms@2.1.3', 'pkg:npm/npm-run-path@6.0.0', 'pkg:npm/path-key@3.1.1']);
    expect(edgesOf(g)).toEqual({
      'pkg:npm/%40types/node@20.19.43': ['pkg:npm/undici-types@6.21.0'],
      'pkg:npm/debug@4.4.3': ['pkg:npm/ms@2.1.3'],
      'pkg:npm/npm-run-path@6.0.0': ['pkg:npm/path-key@4.0.0', 'pkg:npm/unicorn-magic@0.3.0'],
    });
    expect(pkg(g, 'pkg:npm/path-key@4.0.0').properties).toContainEqual(['cdx:npm:package:path', 'node_modules/npm-run-path/node_modules/path-key']);
    // debug's optional peer supports-color is not installed: no warning.
    expect(g.warnings).toEqual([]);
  });

  it('v1: the nested dependencies tree and requires resolved through the scopes', () => {
    const v2 = JSON.parse(readFileSync(path.join(LOCAL, 'npm-v2/package-lock.json'), 'utf8'));
    const v1 = { name: v2.name, version: v2.version, lockfileVersion: 1, requires: true, dependencies: v2.dependencies };
    const packageJson = JSON.parse(readFileSync(path.join(LOCAL, 'npm-v2/package.json'), 'utf8'));
    const g = parseNpmLock(input(LOCAL, 'package-lock.json', JSON.stringify(v1, null, 2)), packageJson);
    expect(g.packages.map((p) => p.bomRef).sort()).toEqual([
      'pkg:npm/%40types/node@20.19.43',
      'pkg:npm/debug@4.4.3',
      'pkg:npm/fsevents@2.3.3',
      'pkg:npm/ms@2.1.3',
      'pkg:npm/npm-run-path@6.0.0',
      'pkg:npm/path-key@3.1.1',
      'pkg:npm/path-key@4.0.0',
      'pkg:npm/undici-types@6.21.0',
      'pkg:npm/unicorn-magic@0.3.0',
    ]);
    expect(edgesOf(g)).toEqual({
      'pkg:npm/%40types/node@20.19.43': ['pkg:npm/undici-types@6.21.0'],
      'pkg:npm/debug@4.4.3': ['pkg:npm/ms@2.1.3'],
      'pkg:npm/npm-run-path@6.0.0': ['pkg:npm/path-key@4.0.0', 'pkg:npm/unicorn-magic@0.3.0'],
    });
    expect(g.direct).toContain('pkg:npm/path-key@3.1.1');
    expect(pkg(g, 'pkg:npm/undici-types@6.21.0').scope).toBe('excluded');
  });

  it('workspaces (links) and git dependencies', () => {
    const lock = {
      name: 'mono',
      lockfileVersion: 3,
      packages: {
        '': { name: 'mono', workspaces: ['packages/*'], dependencies: { '@mono/util': '*', 'left-pad': 'github:left-pad/left-pad#abc' } },
        'node_modules/@mono/util': { resolved: 'packages/util', link: true },
        'packages/util': { name: '@mono/util', version: '0.1.0', dependencies: { ms: '^2.1.3' } },
        'node_modules/ms': { version: '2.1.3', resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz' },
        'node_modules/left-pad': { version: '1.3.0', resolved: 'git+ssh://git@github.com/left-pad/left-pad.git#abc' },
      },
    };
    const g = parseNpmLock(input(LOCAL, 'package-lock.json', JSON.stringify(lock)));
    expect(g.direct).toEqual([`${ROOT_REF}/npm/packages/util`, 'pkg:npm/left-pad@1.3.0?vcs_url=git%2Bssh://git%40github.com/left-pad/left-pad.git%23abc'].sort());
    expect(edgesOf(g)).toEqual({ [`${ROOT_REF}/npm/packages/util`]: ['pkg:npm/ms@2.1.3'] });
  });

  it('reports a dependency missing from the lock file and a broken file with its location', () => {
    const lock = { name: 'x', lockfileVersion: 3, packages: { '': { dependencies: { gone: '^1' } } } };
    const g = parseNpmLock(input(LOCAL, 'package-lock.json', JSON.stringify(lock)));
    expect(g.warnings.map((w) => w.code)).toEqual(['sbom/npm-unresolved']);
    let err: unknown;
    try {
      parseNpmLock(input(LOCAL, 'package-lock.json', '{\n  "name": "x",\n  oops\n}'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiagnosticError);
    expect((err as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'sbom/lockfile-parse', location: { file: 'package-lock.json', line: 3 } });
  });
});

describe('Go modules', () => {
  it('go.sum fixture: module purl with the h1 hash kept as a property, flat under the root', () => {
    const dir = path.join(SERVICES, 'go');
    const g = parseGoModules(input(dir, 'go.sum'), readFileSync(path.join(dir, 'go.mod'), 'utf8'));
    expect(g.module).toBe('example.com/inventory');
    expect(g.packages).toHaveLength(1);
    expect(g.packages[0]).toMatchObject({ purl: 'pkg:golang/github.com/google/uuid@v1.6.0', name: 'github.com/google/uuid', version: 'v1.6.0', hashes: [] });
    expect(g.packages[0].properties).toContainEqual(['atmos:golang:h1', 'h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=']);
    expect(g.direct).toEqual(['pkg:golang/github.com/google/uuid@v1.6.0']);
  });

  it('go.mod requirements pick the build list; indirect ones are marked; go.mod-only sums are not packages', () => {
    const dir = path.join(LOCAL, 'go-multi');
    const mod = parseGoMod(readFileSync(path.join(dir, 'go.mod'), 'utf8'));
    expect(mod.require.map((r) => [r.path, r.version, r.indirect])).toEqual([
      ['github.com/google/uuid', 'v1.6.0', false],
      ['github.com/pkg/errors', 'v0.9.1', false],
      ['golang.org/x/text', 'v0.3.8', true],
    ]);
    const g = parseGoModules(input(dir, 'go.sum'), readFileSync(path.join(dir, 'go.mod'), 'utf8'));
    expect(g.packages.map((p) => p.purl)).toEqual(['pkg:golang/github.com/google/uuid@v1.6.0', 'pkg:golang/github.com/pkg/errors@v0.9.1', 'pkg:golang/golang.org/x/text@v0.3.8']);
    expect(pkg(g, 'pkg:golang/golang.org/x/text@v0.3.8').properties).toContainEqual(['atmos:golang:indirect', 'true']);
    expect(g.direct).toHaveLength(3);
    expect(g.warnings).toEqual([]);
  });
});

describe('Python', () => {
  it('requirements.txt: pins, hashes, -r includes, extras, markers, direct references and unpinned warnings', () => {
    const dir = path.join(LOCAL, 'pip-hashes');
    const g = parseRequirements(input(dir, 'requirements.txt'));
    expect(g.packages.map((p) => p.bomRef)).toEqual([
      'pkg:pypi/idna@3.4',
      'pkg:pypi/certifi@2023.5.7',
      'pkg:pypi/requests@2.31.0',
      'pkg:pypi/typing-extensions@4.6.3',
      'pkg:pypi/urllib3',
      'pkg:pypi/payments-sdk?vcs_url=git%2Bhttps://github.com/acme/payments-sdk.git%40v0.9.1',
    ]);
    // One hash: the package's SHA-256; several (one per file): kept as properties.
    expect(pkg(g, 'pkg:pypi/certifi@2023.5.7').hashes).toEqual([{ alg: 'SHA-256', content: '0f0d56dc5a6ad56fd4ba36484d6cc34451e1c6548c61daad8c320169f91eddc7' }]);
    expect(pkg(g, 'pkg:pypi/idna@3.4').properties.filter(([k]) => k === 'atmos:pypi:hash')).toHaveLength(2);
    expect(g.warnings.map((w) => [w.code, w.location?.line])).toEqual([['sbom/unpinned', 12]]);
    expect(g.direct).toHaveLength(6);
    expect(edgesOf(g)).toEqual({});
  });

  it('requirements.txt fixture (python-pip)', () => {
    const g = parseRequirements(input(path.join(SERVICES, 'python-pip'), 'requirements.txt'));
    expect(g.packages.map((p) => p.purl)).toEqual(['pkg:pypi/six@1.16.0']);
  });

  it('poetry.lock fixture (python-poetry): the sdist hash as SHA-256, every file as a distribution', () => {
    const dir = path.join(SERVICES, 'python-poetry');
    const g = parsePoetryLock(input(dir, 'poetry.lock'), parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')));
    const six = pkg(g, 'pkg:pypi/six@1.16.0');
    expect(six.hashes).toEqual([{ alg: 'SHA-256', content: '1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926' }]);
    expect(six.externalRefs.map((r) => [r.url, r.hashes?.[0].content])).toEqual([
      ['https://pypi.org/simple/six/#six-1.16.0-py2.py3-none-any.whl', '8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254'],
      ['https://pypi.org/simple/six/#six-1.16.0.tar.gz', '1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926'],
    ]);
    expect(g.direct).toEqual(['pkg:pypi/six@1.16.0']);
  });

  it('poetry.lock 2.1 with a graph: [package.dependencies] edges, dev groups excluded, PEP 621 direct deps', () => {
    const dir = path.join(LOCAL, 'poetry-graph');
    const g = parsePoetryLock(input(dir, 'poetry.lock'), parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')));
    expect(edgesOf(g)).toEqual({
      'pkg:pypi/requests@2.31.0': ['pkg:pypi/certifi@2023.5.7', 'pkg:pypi/charset-normalizer@3.2.0', 'pkg:pypi/idna@3.4', 'pkg:pypi/urllib3@2.0.3'],
    });
    expect(g.direct).toEqual(['pkg:pypi/requests@2.31.0', 'pkg:pypi/tomli@2.0.1', 'pkg:pypi/typing-extensions@4.6.3']);
    expect(pkg(g, 'pkg:pypi/tomli@2.0.1').scope).toBe('excluded');
    expect(pkg(g, 'pkg:pypi/requests@2.31.0').scope).toBe('required');
    expect(pkg(g, 'pkg:pypi/typing-extensions@4.6.3').name).toBe('typing-extensions');
  });
});

describe('Cargo.lock', () => {
  it('rust fixture: crates.io purls, SHA-256 checksums, "name version" references, git sources and the root crate', () => {
    const dir = path.join(SERVICES, 'rust');
    const g = parseCargoLock(input(dir, 'Cargo.lock'), 'ledger');
    expect(g.rootCrate).toBe(true);
    expect(pkg(g, 'pkg:cargo/serde@1.0.129').hashes).toEqual([{ alg: 'SHA-256', content: 'd1f72836d2aa753853178eda473a3b9d8e4eefdaf20523b919677e6de489f8f1' }]);
    const proto = 'pkg:cargo/ledger-proto@0.2.0?vcs_url=git%2Bhttps://github.com/acme/ledger-proto%405b2f0d9c3c1e4f6a8b7d2e1f0a9c8b7d6e5f4a3b';
    expect(pkg(g, proto).hashes).toEqual([]);
    expect(g.direct).toEqual(['pkg:cargo/itoa@1.0.11', proto, 'pkg:cargo/log@0.4.14', 'pkg:cargo/serde@1.0.129', 'pkg:cargo/serde_json@1.0.66'].sort());
    const e = edgesOf(g);
    expect(e['pkg:cargo/serde_json@1.0.66']).toEqual(['pkg:cargo/itoa@0.4.8', 'pkg:cargo/ryu@1.0.5', 'pkg:cargo/serde@1.0.129']);
    expect(e['pkg:cargo/serde_derive@1.0.129']).toEqual(['pkg:cargo/proc-macro2@1.0.28', 'pkg:cargo/quote@1.0.9', 'pkg:cargo/syn@1.0.75']);
    expect(e[proto]).toEqual(['pkg:cargo/serde@1.0.129']);
    expect(g.packages.some((p) => p.name === 'ledger')).toBe(false);
    expect(g.warnings).toEqual([]);
  });

  it('a malformed Cargo.lock is a located error', () => {
    let err: unknown;
    try {
      parseCargoLock(input(LOCAL, 'Cargo.lock', 'version = 3\n\n[[package]]\nname = "x\n'), 'x');
    } catch (e) {
      err = e;
    }
    expect((err as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'sbom/lockfile-parse', location: { file: 'Cargo.lock', line: 4 } });
  });
});
