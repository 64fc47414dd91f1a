/**
 * Vendoring https tarballs (a real HTTP server on 127.0.0.1, a free port) and local
 * directories; hostile archives rejected with nothing written outside the store.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeployment, openRepository } from '../../src/index.js';
import { ensureVendored, vendorCacheStats } from '../../src/vendoring/index.js';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { makeRepo } from '../helpers.js';
import { listAll, runCliAsync, serve, tarGz, tempDir, type TestServer } from './fixture.js';

const APP_TF = 'variable "name" { default = "app" }\noutput "name" { value = var.name }\n';

function appRepo(source: string, extra: Record<string, string> = {}, version = '2.0.0') {
  return makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'deployments/web.yaml': [
      'deployment:',
      '  name: web',
      '  vendor:',
      '    components:',
      '      - component: app',
      `        source: "${source}"`,
      `        version: "${version}"`,
      '  components:',
      '    terraform:',
      '      app: {}',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
    ...extra,
  });
}

let servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

async function server(files: Record<string, Buffer>) {
  const s = await serve(files);
  servers.push(s);
  return s;
}

describe('vendoring https tarballs', () => {
  it('pulls {{ version }} tarballs with a //subdir; a second pull with the server stopped is a cache hit', async () => {
    const tgz = await tarGz([
      { name: 'app-2.0.0/', type: 'directory' },
      { name: 'app-2.0.0/module/main.tf', content: APP_TF },
      { name: 'app-2.0.0/module/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
      { name: 'app-2.0.0/module/current', type: 'symlink', linkname: 'main.tf' },
      { name: 'app-2.0.0/module/copy.tf', type: 'link', linkname: 'app-2.0.0/module/main.tf' },
      { name: 'app-2.0.0/docs/index.md', content: '# docs\n' },
    ]);
    const s = await server({ '/app-2.0.0.tar.gz': tgz });
    const repo = appRepo(`${s.url}/app-{{ version }}.tar.gz//app-2.0.0/module`);

    const first = await runCliAsync(['vendor', 'pull', '--deployment', 'web', '-C', repo]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/dev\s+app\s+2\.0\.0\s+[0-9a-f]{12}\s+pulled\s+http:\/\/127\.0\.0\.1:\d+\/app-2\.0\.0\.tar\.gz\/\/app-2\.0\.0\/module/);
    expect(s.hits).toEqual(['/app-2.0.0.tar.gz']);
    const dir = path.join(repo, '.atmos/cache/vendor/deployments/web/dev/app');
    expect(readdirSync(dir).sort()).toEqual(['copy.tf', 'current', 'main.tf', 'run.sh']);
    expect(readFileSync(path.join(dir, 'copy.tf'), 'utf8')).toBe(APP_TF);
    expect(readFileSync(path.join(dir, 'current'), 'utf8')).toBe(APP_TF);

    await s.close();
    servers = [];
    const again = await runCliAsync(['vendor', 'pull', '--deployment', 'web', '-C', repo]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/dev\s+app\s+2\.0\.0\s+[0-9a-f]{12}\s+cached/);
    // plan/describe read the store; rollout pulls just in time and finds the lock satisfied.
    const d = await runCliAsync(['describe', 'web', '--format', 'json', '-C', repo]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).components[0].vars).toEqual({});

    const update = await runCliAsync(['vendor', 'pull', '--deployment', 'web', '--update', '-C', repo]);
    expect(update.code).toBe(1);
    expect(update.stderr).toMatch(
      /deployments\/web\.yaml:6:17: error: vendoring module "app" for target dev from http:\/\/127\.0\.0\.1:\d+\/app-2\.0\.0\.tar\.gz\/\/app-2\.0\.0\/module: GET http:\/\/127\.0\.0\.1:\d+\/app-2\.0\.0\.tar\.gz failed: ECONNREFUSED/,
    );
    expect(update.stderr).toContain('hint: check the URL and the network');
  });

  it('a 404 and a file that is not a tarball are fetch failures (exit 1) that write no object', async () => {
    const s = await server({ '/junk.tar.gz': Buffer.from('this is not gzip') });
    const repo = appRepo(`${s.url}/app-{{ version }}.tar.gz`);
    const r = openRepository({ cwd: repo });
    const err = await ensureVendored(r, loadDeployment(r, 'web'), 'dev').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    expect(exitCodeOf(err)).toBe(1);
    expect((err as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'vendor/fetch-failed', hint: 'check the URL and the version it contains' });
    expect((err as DiagnosticError).message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/app-2\.0\.0\.tar\.gz: 404 Not Found/);

    const junk = appRepo(`${s.url}/junk.tar.gz`);
    const r2 = openRepository({ cwd: junk });
    const err2 = await ensureVendored(r2, loadDeployment(r2, 'web'), 'dev').catch((e: unknown) => e);
    expect((err2 as DiagnosticError).message).toMatch(/is not a gzipped tarball/);
    expect(vendorCacheStats(r2.config.cacheDir).objects).toBe(0);
    expect(readdirSync(path.join(junk, '.atmos/cache/vendor/tmp'))).toEqual([]);
  });
});

describe('vendoring local directories', () => {
  it('copies the directory (filtered by included/excluded paths), re-reads it on every pull, refuses links that leave it', async () => {
    const repo = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'shared/app/main.tf': APP_TF,
      'shared/app/README.md': '# app\n',
      'shared/app/test/app_test.go': 'package test\n',
      'deployments/web.yaml': [
        'deployment:',
        '  name: web',
        '  vendor:',
        '    components:',
        '      - component: app',
        '        source: ./shared/app',
        '        included_paths: ["**/*.tf", "**/*.md"]',
        '        excluded_paths: ["README.md"]',
        '  components:',
        '    terraform:',
        '      app: {}',
        '  targets:',
        '    dev: {}',
        '',
      ].join('\n'),
    });
    const r = openRepository({ cwd: repo });
    const dep = loadDeployment(r, 'web');
    const first = await ensureVendored(r, dep, 'dev');
    expect(first.components.map((c) => [c.component, c.status, c.version])).toEqual([['app', 'pulled', null]]);
    const dir = path.join(repo, '.atmos/cache/vendor/deployments/web/dev/app');
    expect(listAll(dir)).toEqual(['main.tf']);
    expect((await ensureVendored(r, dep, 'dev')).components[0].status).toBe('cached');

    writeFileSync(path.join(repo, 'shared/app/extra.tf'), 'output "x" { value = 1 }\n');
    const second = await ensureVendored(r, dep, 'dev');
    expect(second.components[0].status).toBe('updated');
    expect(second.components[0].digest).not.toBe(first.components[0].digest);
    expect(listAll(dir)).toEqual(['extra.tf', 'main.tf']);

    symlinkSync('../../../etc/passwd', path.join(repo, 'shared/app/evil.tf'));
    const err = await ensureVendored(r, dep, 'dev').catch((e: unknown) => e);
    expect(exitCodeOf(err)).toBe(1);
    expect((err as DiagnosticError).message).toMatch(/unsafe entry "evil\.tf": symbolic link to "\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the tree/);
    // The previous pull stays in place.
    expect(listAll(dir)).toEqual(['extra.tf', 'main.tf']);
  });
});

describe('hostile archives', () => {
  const cases: { name: string; entries: Parameters<typeof tarGz>[0]; message: RegExp }[] = [
    {
      name: 'an absolute path',
      entries: [
        { name: 'main.tf', content: APP_TF },
        { name: '/tmp/atmos-pipe-evil-abs.txt', content: 'owned' },
      ],
      message: /unsafe entry "\/tmp\/atmos-pipe-evil-abs\.txt": absolute path/,
    },
    {
      name: 'a ../ entry',
      entries: [
        { name: 'main.tf', content: APP_TF },
        { name: '../../../../escape.txt', content: 'owned' },
      ],
      message: /unsafe entry "\.\.\/\.\.\/\.\.\/\.\.\/escape\.txt": "\.\." in the path/,
    },
    {
      name: 'a symlink escaping the tree',
      entries: [
        { name: 'main.tf', content: APP_TF },
        { name: 'up', type: 'symlink', linkname: '../../..' },
        { name: 'up/escape.txt', content: 'owned' },
      ],
      message: /unsafe entry "up": symbolic link to "\.\.\/\.\.\/\.\." leaves the tree/,
    },
    { name: 'an absolute symlink', entries: [{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }], message: /symbolic link to "\/etc\/passwd" leaves the tree/ },
    {
      name: 'a hard link escaping the tree',
      entries: [
        { name: 'main.tf', content: APP_TF },
        { name: 'h', type: 'link', linkname: '../../../etc/passwd' },
      ],
      message: /unsafe entry "h → \.\.\/\.\.\/\.\.\/etc\/passwd": "\.\." in the path/,
    },
    { name: 'an absolute hard link', entries: [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], message: /absolute path/ },
    {
      name: 'a write through an inside symlink',
      entries: [
        { name: 'sub/', type: 'directory' },
        { name: 'link', type: 'symlink', linkname: 'sub' },
        { name: 'link/x.tf', content: 'x' },
      ],
      message: /unsafe entry "link\/x\.tf": its path goes through the symbolic link "link"/,
    },
    { name: 'a device file', entries: [{ name: 'null', type: 'character-device' }], message: /character-device entries are not allowed/ },
    {
      name: 'a hostile entry outside the //subdir',
      entries: [
        { name: 'module/main.tf', content: APP_TF },
        { name: 'other/../../escape.txt', content: 'x' },
      ],
      message: /"\.\." in the path/,
    },
  ];

  it('rejects every hostile archive (exit 1) and writes nothing outside the store', async () => {
    const files: Record<string, Buffer> = {};
    for (const [i, c] of cases.entries()) files[`/evil-${i}.tar.gz`] = await tarGz(c.entries);
    const s = await server(files);
    const parent = tempDir('atmos-pipe-hostile-');
    const repo = path.join(parent, 'repo');
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'atmos.yaml'), 'components:\n  terraform:\n    base_path: components/terraform\n');
    mkdirSync(path.join(repo, 'deployments'));
    const parentBefore = readdirSync(parent).sort();
    const tmpBefore = readdirSync('/tmp').filter((n) => n.includes('evil') || n === 'escape.txt');
    for (const [i, c] of cases.entries()) {
      const sub = c.name.includes('//subdir') ? '//module' : '';
      writeFileSync(
        path.join(repo, 'deployments/web.yaml'),
        [
          'deployment:',
          '  name: web',
          '  vendor:',
          '    components:',
          '      - component: app',
          `        source: ${s.url}/evil-${i}.tar.gz${sub}`,
          '  components:',
          '    terraform:',
          '      app: {}',
          '  targets:',
          '    dev: {}',
          '',
        ].join('\n'),
      );
      const before = listAll(repo).filter((p) => !p.startsWith('.atmos'));
      const r = await runCliAsync(['vendor', 'pull', '--deployment', 'web', '-C', repo]);
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(1);
      expect(r.stderr, c.name).toMatch(c.message);
      expect(r.stderr).toContain('the source was rejected and nothing of it was kept');
      // Nothing outside the store; inside it, no object, no link, no lock, no temp leftovers.
      expect(readdirSync(parent).sort()).toEqual(parentBefore);
      expect(listAll(repo).filter((p) => !p.startsWith('.atmos'))).toEqual(before);
      expect(listAll(path.join(repo, '.atmos'))).toEqual(['cache', 'cache/vendor', 'cache/vendor/tmp']);
    }
    expect(existsSync('/tmp/atmos-pipe-evil-abs.txt')).toBe(false);
    expect(readdirSync('/tmp').filter((n) => n.includes('evil') || n === 'escape.txt')).toEqual(tmpBefore);
  });
});
