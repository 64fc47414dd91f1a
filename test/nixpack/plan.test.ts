/**
 * Build plans (SPEC 5.1–5.2): provider detection, nixpacks-shaped plans per provider,
 * vars overrides, located errors, determinism. On the fixture services in
 * test/fixtures/services and on small trees written to temp dirs.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { detectProvider, imageContent, makePlan, NIXPACKS_BASE_IMAGE, planToJson, testCommand, type BuildPlan, type NixpackVars } from '../../src/nixpack/plan.js';
import { nodeMajorFor } from '../../src/nixpack/providers/node.js';
import { ROOT, makeRepo } from '../helpers.js';

const SERVICES = path.join(ROOT, 'test/fixtures/services');
const svc = (name: string) => path.join(SERVICES, name);
const vars = (name: string, more: Partial<NixpackVars> = {}): NixpackVars => ({ source: `./services/${name}`, ...more });
const LOC = { file: 'deployments/shop.yaml', line: 7, col: 7 };

function planOf(name: string, more: Partial<NixpackVars> = {}, opts: { dockerfileEscape?: boolean } = {}): BuildPlan {
  return makePlan(svc(name), vars(name, more), { ...opts, location: LOC });
}

function diagnosticOf(fn: () => unknown): DiagnosticError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DiagnosticError);
    return e as DiagnosticError;
  }
  throw new Error('expected a DiagnosticError');
}

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('detectProvider', () => {
  it.each([
    ['node-npm', 'node', 'package.json', '20'],
    ['node-engines', 'node', 'package.json', '20'],
    ['node-nvmrc', 'node', 'package.json', '18'],
    ['go', 'go', 'go.mod', '1.21'],
    ['python-pip', 'python', 'requirements.txt', '3.11'],
    ['python-poetry', 'python', 'pyproject.toml', '3'],
    ['static', 'static', 'index.html', undefined],
  ])('%s → %s (evidence %s, version %s)', (fixture, provider, evidence, version) => {
    const d = detectProvider(svc(fixture));
    expect(d).toMatchObject({ provider, evidence });
    expect(d?.version).toBe(version);
  });

  it('records where the language version came from', () => {
    expect(detectProvider(svc('node-npm'))?.versionFrom).toBe('default');
    expect(detectProvider(svc('node-engines'))?.versionFrom).toBe('package.json engines.node');
    expect(detectProvider(svc('node-nvmrc'))?.versionFrom).toBe('.nvmrc');
    expect(detectProvider(svc('go'))?.versionFrom).toBe('go.mod');
    expect(detectProvider(svc('python-pip'))?.versionFrom).toBe('.python-version');
  });

  it('detects a Dockerfile only with dockerfileEscape', () => {
    expect(detectProvider(svc('dockerfile'))).toBeUndefined();
    expect(detectProvider(svc('dockerfile'), { dockerfileEscape: false })).toBeUndefined();
    expect(detectProvider(svc('dockerfile'), { dockerfileEscape: true })).toEqual({ provider: 'dockerfile', evidence: 'Dockerfile' });
  });

  it('without the escape a Dockerfile next to package.json falls to node; with it the Dockerfile wins', () => {
    const dir = makeRepo({ Dockerfile: 'FROM node:20\n', 'package.json': '{"name":"x"}' });
    expect(detectProvider(dir)?.provider).toBe('node');
    expect(detectProvider(dir, { dockerfileEscape: true })?.provider).toBe('dockerfile');
  });

  it('with the escape but no Dockerfile, the other providers still apply', () => {
    expect(detectProvider(svc('go'), { dockerfileEscape: true })?.provider).toBe('go');
  });

  it('follows the fixed order node, go, python, static', () => {
    expect(detectProvider(makeRepo({ 'package.json': '{}', 'go.mod': 'module x\n', 'main.py': '' }))?.provider).toBe('node');
    expect(detectProvider(makeRepo({ 'go.mod': 'module x\n', 'requirements.txt': '', 'index.html': '' }))?.provider).toBe('go');
    expect(detectProvider(makeRepo({ 'main.py': '', 'index.html': '' }))).toMatchObject({ provider: 'python', evidence: 'main.py' });
    expect(detectProvider(makeRepo({ 'main.go': 'package main\n' }))).toMatchObject({ provider: 'go', evidence: 'main.go', version: '1.22' });
    expect(detectProvider(makeRepo({ Pipfile: '[packages]\n' }))).toMatchObject({ provider: 'python', evidence: 'Pipfile' });
    expect(detectProvider(makeRepo({ 'public/index.html': '' }))).toMatchObject({ provider: 'static', evidence: 'public/index.html' });
    expect(detectProvider(makeRepo({ 'dist/index.html': '' }))).toMatchObject({ provider: 'static', evidence: 'dist/index.html' });
  });

  it('undefined when nothing matches or the directory does not exist', () => {
    expect(detectProvider(makeRepo({ 'README.md': '# hi\n' }))).toBeUndefined();
    expect(detectProvider(path.join(SERVICES, 'does-not-exist'))).toBeUndefined();
  });
});

describe('node plans', () => {
  it('npm with a v3 lockfile: npm ci, nodejs_20 + npm-9_x, build and start scripts', () => {
    const p = planOf('node-npm');
    expect(p.providers).toEqual(['node']);
    expect(p.buildImage).toBe(NIXPACKS_BASE_IMAGE);
    expect(p.variables).toEqual({ CI: 'true', NODE_ENV: 'production', NPM_CONFIG_PRODUCTION: 'false' });
    expect(Object.keys(p.phases)).toEqual(['setup', 'install', 'build']);
    expect(p.phases.setup).toMatchObject({ name: 'setup', nixPkgs: ['nodejs_20', 'npm-9_x'] });
    expect(p.phases.setup.aptPkgs).toBeUndefined();
    expect(p.phases.install).toEqual({
      name: 'install',
      dependsOn: ['setup'],
      cmds: ['npm ci'],
      cacheDirectories: ['/root/.npm'],
      paths: ['/app/node_modules/.bin'],
    });
    expect(p.phases.build).toEqual({
      name: 'build',
      dependsOn: ['install'],
      cmds: ['npm run build'],
      cacheDirectories: ['node_modules/.cache'],
    });
    expect(p.start).toEqual({ cmd: 'npm run start' });
    expect(testCommand(p, vars('node-npm'))).toBe('npm test');
    expect(imageContent(p)).toEqual({ include: ['.'], workdir: '/app' });
  });

  it('engines range picks the newest allowed major; no lockfile → npm i; no start script → node <main>', () => {
    const p = planOf('node-engines');
    expect(p.phases.setup.nixPkgs).toEqual(['nodejs_20', 'npm-9_x']);
    expect(p.phases.install.cmds).toEqual(['npm i']);
    expect(p.phases.build.cmds).toBeUndefined();
    expect(p.start.cmd).toBe('node server.js');
  });

  it('.nvmrc and yarn.lock: nodejs_18 + yarn-1_x, yarn install --frozen-lockfile, yarn run start, yarn test', () => {
    const p = planOf('node-nvmrc');
    expect(p.phases.setup.nixPkgs).toEqual(['nodejs_18', 'yarn-1_x']);
    expect(p.phases.install).toMatchObject({ cmds: ['yarn install --frozen-lockfile'], cacheDirectories: ['/usr/local/share/.cache/yarn/v6'] });
    expect(p.start.cmd).toBe('yarn run start');
    expect(testCommand(p, vars('node-nvmrc'))).toBe('yarn test');
  });

  it('pnpm-lock.yaml: pnpm i --frozen-lockfile, pnpm run build, pnpm test', () => {
    const dir = makeRepo({
      'package.json': JSON.stringify({ scripts: { build: 'tsc' } }),
      'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
      'index.js': '',
    });
    const p = makePlan(dir, { source: 'svc' });
    expect(p.phases.setup.nixPkgs).toEqual(['nodejs_20', 'pnpm-9_x']);
    expect(p.phases.install.cmds).toEqual(['pnpm i --frozen-lockfile']);
    expect(p.phases.build.cmds).toEqual(['pnpm run build']);
    expect(p.start.cmd).toBe('node index.js');
    expect(testCommand(p, { source: 'svc' })).toBe('pnpm test');
  });

  it('older pnpm lockfiles select older pnpm; packageManager in package.json names the manager even without a lockfile', () => {
    const v6 = makeRepo({ 'package.json': '{}', 'pnpm-lock.yaml': "lockfileVersion: '6.0'\n" });
    expect(makePlan(v6, { source: 's' }).phases.setup.nixPkgs).toEqual(['nodejs_20', 'pnpm-8_x']);
    const declared = makeRepo({ 'package.json': '{"packageManager":"yarn@1.22.22"}' });
    const p = makePlan(declared, { source: 's' });
    expect(p.phases.setup.nixPkgs).toEqual(['nodejs_20', 'yarn-1_x']);
    expect(p.phases.install.cmds).toEqual(['npm install -g corepack@0.24.1 && corepack enable', 'yarn install --frozen-lockfile']);
  });

  it('older npm lockfiles select older npm packages', () => {
    const v2 = makeRepo({ 'package.json': '{}', 'package-lock.json': '{\n  "lockfileVersion": 2\n}\n' });
    expect(makePlan(v2, { source: 's' }).phases.setup.nixPkgs).toEqual(['nodejs_20', 'npm-8_x']);
    const v1 = makeRepo({ 'package.json': '{}', 'package-lock.json': '{\n  "lockfileVersion": 1\n}\n' });
    expect(makePlan(v1, { source: 's' }).phases.setup.nixPkgs).toEqual(['nodejs_20', 'npm-6_x']);
  });

  it('no start script, no main, no index.js → start.cmd null', () => {
    expect(makePlan(makeRepo({ 'package.json': '{}' }), { source: 's' }).start.cmd).toBeNull();
  });

  it('engines.node wins over .nvmrc; .node-version is read last', () => {
    const both = makeRepo({ 'package.json': '{"engines":{"node":"22.x"}}', '.nvmrc': '18\n' });
    expect(detectProvider(both)).toMatchObject({ version: '22', versionFrom: 'package.json engines.node' });
    const nv = makeRepo({ 'package.json': '{}', '.node-version': '16.20.2\n' });
    expect(detectProvider(nv)).toMatchObject({ version: '16', versionFrom: '.node-version' });
  });

  it('maps version specs to an available major like nixpacks (newest allowed), else the default 20', () => {
    expect(nodeMajorFor('18.x')).toBe(18);
    expect(nodeMajorFor('>=14.10.3 <16')).toBe(14);
    expect(nodeMajorFor('^14.10.3')).toBe(14);
    expect(nodeMajorFor('14.10.3 || 18.10.0')).toBe(18);
    expect(nodeMajorFor('>=18')).toBe(22);
    expect(nodeMajorFor('v20.11.1')).toBe(20);
    expect(nodeMajorFor('lts/iron')).toBe(20);
    expect(nodeMajorFor('lts/*')).toBe(22);
    expect(nodeMajorFor('18 - 20')).toBe(20);
    expect(nodeMajorFor('~16.4')).toBe(16);
    expect(nodeMajorFor('15')).toBeUndefined();
    expect(nodeMajorFor('*')).toBeUndefined();
    expect(nodeMajorFor('abc')).toBeUndefined();
    expect(detectProvider(makeRepo({ 'package.json': '{"engines":{"node":"15"}}' }))).toMatchObject({ version: '20', versionFrom: 'default' });
  });

  it('a packageManager other than npm enables corepack first', () => {
    const dir = makeRepo({ 'package.json': '{"packageManager":"pnpm@9.1.0"}', 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" });
    expect(makePlan(dir, { source: 's' }).phases.install.cmds).toEqual(['npm install -g corepack@0.24.1 && corepack enable', 'pnpm i --frozen-lockfile']);
  });

  it('an invalid package.json is an error located in that file', () => {
    const dir = makeRepo({ 'package.json': '{\n  "name": "x",\n  oops\n}\n' });
    const e = diagnosticOf(() => makePlan(dir, { source: './services/api' }, { location: LOC }));
    expect(exitCodeOf(e)).toBe(2);
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/invalid-json', location: { file: 'services/api/package.json', line: 3 } });
  });
});

describe('go plans', () => {
  it('go.mod: go_1_21, go mod download, go build -o out, ./out in a slim image, CGO_ENABLED=0', () => {
    const p = planOf('go');
    expect(p.providers).toEqual(['go']);
    expect(p.variables).toEqual({ CGO_ENABLED: '0' });
    expect(p.phases.setup).toMatchObject({ name: 'setup', nixPkgs: ['go_1_21'] });
    expect(p.phases.install).toEqual({
      name: 'install',
      dependsOn: ['setup'],
      cmds: ['go mod download'],
      cacheDirectories: ['/root/.cache/go-build'],
    });
    expect(p.phases.build).toMatchObject({ dependsOn: ['install'], cmds: ['go build -o out'] });
    expect(p.start).toEqual({ cmd: './out', runImage: 'ubuntu:jammy' });
    expect(testCommand(p, vars('go'))).toBe('go test ./...');
    expect(imageContent(p)).toEqual({ include: ['.'], workdir: '/app' });
  });

  it('a module without root .go files builds the first cmd/<name>; an unknown go version uses the default toolchain', () => {
    const dir = makeRepo({ 'go.mod': 'module x\n\ngo 1.99.1\n', 'cmd/zeta/main.go': '', 'cmd/api/main.go': '' });
    const p = makePlan(dir, { source: 's' });
    expect(p.phases.build.cmds).toEqual(['go build -o out ./cmd/api']);
    expect(p.phases.setup.nixPkgs).toEqual(['go']);
    expect(detectProvider(dir)).toMatchObject({ version: '1.22', versionFrom: 'default' });
  });

  it('a bare main.go (no module): no install command, go build -o out main.go', () => {
    const p = makePlan(makeRepo({ 'main.go': 'package main\n' }), { source: 's' });
    expect(p.phases.install.cmds).toBeUndefined();
    expect(p.phases.build.cmds).toEqual(['go build -o out main.go']);
  });
});

describe('python plans', () => {
  const PY_VARS = {
    PIP_DEFAULT_TIMEOUT: '100',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONFAULTHANDLER: '1',
    PYTHONHASHSEED: 'random',
    PYTHONUNBUFFERED: '1',
  };

  it('requirements.txt: venv + pip install -r, python311 from .python-version, python main.py', () => {
    const p = planOf('python-pip');
    expect(p.providers).toEqual(['python']);
    expect(p.variables).toEqual(PY_VARS);
    expect(p.phases.setup).toMatchObject({ nixPkgs: ['python311', 'gcc'], nixLibs: ['zlib', 'stdenv.cc.cc.lib'] });
    expect(p.phases.install).toEqual({
      name: 'install',
      dependsOn: ['setup'],
      cmds: ['python -m venv --copies /opt/venv && . /opt/venv/bin/activate && pip install -r requirements.txt'],
      cacheDirectories: ['/root/.cache/pip'],
      paths: ['/opt/venv/bin'],
    });
    expect(p.phases.build).toEqual({ name: 'build', dependsOn: ['install'] });
    expect(p.start).toEqual({ cmd: 'python main.py' });
    expect(testCommand(p, vars('python-pip'))).toBe('python -m pytest');
    expect(imageContent(p)).toEqual({ include: ['.'], workdir: '/app', outside: ['/opt/venv'] });
  });

  it('pyproject.toml + poetry.lock: poetry install, pinned poetry version, default python3', () => {
    const p = planOf('python-poetry');
    expect(p.phases.setup.nixPkgs).toEqual(['python3', 'gcc']);
    expect(p.phases.install.cmds).toEqual([
      'python -m venv --copies /opt/venv && . /opt/venv/bin/activate && pip install poetry==$NIXPACKS_POETRY_VERSION && poetry install --no-dev --no-interaction --no-ansi',
    ]);
    expect(p.variables).toEqual({ ...PY_VARS, NIXPACKS_POETRY_VERSION: '1.3.1' });
    expect(p.start.cmd).toBe('python main.py');
  });

  it('runtime.txt and a plain pyproject.toml', () => {
    const p = makePlan(makeRepo({ 'pyproject.toml': '[project]\nname = "x"\n', 'runtime.txt': 'python-3.9.18\n' }), { source: 's' });
    expect(p.phases.setup.nixPkgs).toEqual(['python39', 'gcc']);
    expect(p.phases.install.cmds).toEqual(['python -m venv --copies /opt/venv && . /opt/venv/bin/activate && pip install --upgrade build setuptools && pip install .']);
    expect(p.start.cmd).toBeNull();
  });
});

describe('static plans', () => {
  it('index.html at the root: caddy, a Caddyfile asset, the whole tree served from /app', () => {
    const p = planOf('static');
    expect(p.providers).toEqual(['static']);
    expect(p.phases.setup).toMatchObject({ name: 'setup', nixPkgs: ['caddy'] });
    expect(Object.keys(p.phases)).toEqual(['setup', 'install', 'build']);
    expect(p.phases.install.cmds).toBeUndefined();
    expect(p.start.cmd).toBe('exec caddy run --config /assets/Caddyfile --adapter caddyfile 2>&1');
    expect(p.staticAssets?.Caddyfile).toContain('root * /app\n');
    expect(p.staticAssets?.Caddyfile).toContain('file_server');
    expect(testCommand(p, vars('static'))).toBeUndefined();
    expect(imageContent(p)).toEqual({ include: ['.'], workdir: '/app' });
  });

  it('public/index.html: only public/ goes into the image and is the served root', () => {
    const p = makePlan(makeRepo({ 'public/index.html': '<h1>x</h1>', 'README.md': '' }), { source: 's' });
    expect(p.start.onlyIncludeFiles).toEqual(['public']);
    expect(p.staticAssets?.Caddyfile).toContain('root * /app/public\n');
    expect(imageContent(p)).toEqual({ include: ['public/**'], workdir: '/app' });
  });
});

describe('dockerfile plans', () => {
  it('only with the escape: providers [dockerfile], no phases, start.cmd null, base of the final stage', () => {
    const p = planOf('dockerfile', {}, { dockerfileEscape: true });
    expect(p).toEqual({
      providers: ['dockerfile'],
      buildImage: 'node:20-bookworm-slim',
      variables: {},
      phases: {},
      start: { cmd: null },
    });
    expect(testCommand(p, vars('dockerfile'))).toBeUndefined();
    expect(testCommand(p, vars('dockerfile', { test_cmd: 'npm test' }))).toBe('npm test');
  });

  it('without the escape the Dockerfile fixture matches no provider, and the hint says how to enable it', () => {
    const e = diagnosticOf(() => planOf('dockerfile'));
    expect(exitCodeOf(e)).toBe(2);
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/no-provider', location: LOC });
    expect(e.diagnostics[0].hint).toContain('dockerfile_escape: true');
  });

  it('install/build/pkgs overrides cannot apply to a Dockerfile build', () => {
    const e = diagnosticOf(() => planOf('dockerfile', { build_cmd: 'make' }, { dockerfileEscape: true }));
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/override-not-applicable', location: LOC });
    expect(planOf('dockerfile', { start_cmd: 'node other.js' }, { dockerfileEscape: true }).start.cmd).toBe('node other.js');
  });

  it('a Dockerfile without FROM is an error located in the Dockerfile', () => {
    const dir = makeRepo({ Dockerfile: '# nothing\nRUN true\n' });
    const e = diagnosticOf(() => makePlan(dir, { source: 'services/x' }, { dockerfileEscape: true, location: LOC }));
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/dockerfile-invalid', location: { file: 'services/x/Dockerfile', line: 1, col: 1 } });
  });
});

describe('vars overrides', () => {
  it('install_cmd, build_cmd, start_cmd replace; pkgs and apt_pkgs append', () => {
    const p = planOf('node-npm', {
      install_cmd: 'npm ci --omit=optional',
      build_cmd: 'npm run compile',
      start_cmd: 'node dist/main.js',
      pkgs: ['ffmpeg', 'nodejs_20'],
      apt_pkgs: ['curl', 'ca-certificates'],
    });
    expect(p.phases.install.cmds).toEqual(['npm ci --omit=optional']);
    expect(p.phases.build.cmds).toEqual(['npm run compile']);
    expect(p.start.cmd).toBe('node dist/main.js');
    expect(p.phases.setup.nixPkgs).toEqual(['nodejs_20', 'npm-9_x', 'ffmpeg']);
    expect(p.phases.setup.aptPkgs).toEqual(['curl', 'ca-certificates']);
    // the rest of the detected plan stays
    expect(p.phases.install.cacheDirectories).toEqual(['/root/.npm']);
  });

  it('build_cmd on a provider without a build command adds one; an empty build_cmd removes it', () => {
    expect(planOf('static', { build_cmd: './gen.sh' }).phases.build.cmds).toEqual(['./gen.sh']);
    expect(planOf('node-npm', { build_cmd: '' }).phases.build.cmds).toBeUndefined();
  });

  it('test_cmd wins over the provider default; an empty one means no tests', () => {
    const p = planOf('go');
    expect(testCommand(p, vars('go', { test_cmd: 'go test -race ./...' }))).toBe('go test -race ./...');
    expect(testCommand(p, vars('go', { test_cmd: '' }))).toBeUndefined();
  });

  it('malformed overrides are located errors', () => {
    const e = diagnosticOf(() => planOf('go', { pkgs: 'ffmpeg' as unknown as string[], start_cmd: 3 as unknown as string }));
    expect(exitCodeOf(e)).toBe(2);
    expect(e.diagnostics.map((d) => d.code)).toEqual(['nixpack/invalid-var', 'nixpack/invalid-var']);
    expect(e.diagnostics.every((d) => d.location === LOC)).toBe(true);
  });
});

describe('errors', () => {
  it('no provider: exit 2, located at the component, hint listing what each provider looks for', () => {
    const dir = makeRepo({ 'README.md': '# nothing to build\n' });
    const e = diagnosticOf(() => makePlan(dir, { source: './services/empty' }, { location: LOC }));
    expect(exitCodeOf(e)).toBe(2);
    const d = e.diagnostics[0];
    expect(d).toMatchObject({ severity: 'error', code: 'nixpack/no-provider', location: LOC });
    expect(d.message).toContain('./services/empty');
    for (const s of ['node: package.json', 'go: go.mod', 'python: requirements.txt', 'static: index.html', 'dockerfile: Dockerfile']) {
      expect(d.hint).toContain(s);
    }
    expect(d.hint).not.toContain('set settings.nixpack.dockerfile_escape');
  });

  it('a source that does not exist: exit 2, located', () => {
    const e = diagnosticOf(() => makePlan(path.join(SERVICES, 'nope'), { source: './services/nope' }, { location: LOC }));
    expect(exitCodeOf(e)).toBe(2);
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/source-missing', location: LOC });
    expect(e.diagnostics[0].message).toContain('./services/nope');
  });

  it('a source that is a file: exit 2, located', () => {
    const e = diagnosticOf(() => makePlan(path.join(svc('go'), 'go.mod'), { source: './services/go/go.mod' }, { location: LOC }));
    expect(e.diagnostics[0]).toMatchObject({ code: 'nixpack/source-not-directory', location: LOC });
  });
});

describe('determinism', () => {
  const fixtures: [string, boolean][] = [
    ['node-npm', false],
    ['node-engines', false],
    ['node-nvmrc', false],
    ['go', false],
    ['python-pip', false],
    ['python-poetry', false],
    ['static', false],
    ['dockerfile', true],
  ];

  it.each(fixtures)('%s: two calls and two copies of the tree give identical JSON, free of host paths', (name, dockerfileEscape) => {
    const copies = [0, 1].map(() => {
      const d = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-nixpack-'));
      tmp.push(d);
      cpSync(svc(name), path.join(d, 'svc'), { recursive: true });
      return path.join(d, 'svc');
    });
    const json = (dir: string) => planToJson(makePlan(dir, vars(name), { dockerfileEscape }));
    const a = json(svc(name));
    expect(json(svc(name))).toBe(a);
    expect(json(copies[0])).toBe(a);
    expect(json(copies[1])).toBe(a);
    expect(JSON.stringify(makePlan(copies[0], vars(name), { dockerfileEscape }))).toBe(JSON.stringify(JSON.parse(a)));
    expect(a).not.toContain(ROOT);
    expect(a).not.toContain(tmpdir());
    expect(a).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
  });

  it('phases keep the order setup, install, build and keys equal their names', () => {
    const p = planOf('node-npm');
    for (const [k, ph] of Object.entries(p.phases)) expect(ph.name).toBe(k);
    expect(Object.keys(JSON.parse(planToJson(p)))).toEqual(['providers', 'buildImage', 'variables', 'phases', 'start']);
    expect(Object.keys(JSON.parse(planToJson(planOf('static'))))).toEqual(['providers', 'buildImage', 'variables', 'staticAssets', 'phases', 'start']);
  });
});
