/**
 * Build context = what Git would ship. A nixpack build copies into its sandbox (and from there
 * into the image) the tracked and untracked-but-not-ignored files of the source, minus what
 * `.dockerignore` drops — never a file Git ignores (.gitignore at any depth, .git/info/exclude).
 * Each marker below is looked for, in every encoding, in every file under `.atmos/` (the CAS,
 * the kept step workspaces and the OCI layout with its gunzipped layers).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cas } from '../../src/cache/cas.js';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { buildContext } from '../../src/nixpack/context.js';
import { cli, commitAll, findSecret, freshExample, git, type CliResult } from './fixture.js';
import { expectRefused, finishedStep, where } from './refused.js';

const D = 'payment-service';
const API = 'services/api';

const M = {
  gitignored: 'MARKER-gitignored-env-4f1d',
  nested: 'MARKER-nested-gitignore-9a2c',
  infoExclude: 'MARKER-info-exclude-77b0',
  dockerDir: 'MARKER-dockerignored-dir-31e5',
  dockerGlob: 'MARKER-dockerignored-md-c402',
  dockerKeep: 'MARKER-dockerignore-exception-5d8e',
  untracked: 'MARKER-untracked-not-ignored-e6a9',
};

let dir: string;
let build: CliResult;

/** Where a marker is found under `.atmos/` (Git objects do not count: tracked files are committed). */
const found = (marker: string) => findSecret(dir, marker).filter((h) => h.startsWith('.atmos'));

beforeAll(() => {
  dir = freshExample((d) => {
    const api = path.join(d, API);
    writeFileSync(path.join(api, '.gitignore'), 'node_modules/\ndist/\n.env\n');
    writeFileSync(path.join(api, '.env'), `API_TOKEN=${M.gitignored}\n`);
    writeFileSync(path.join(api, 'src/.gitignore'), 'local-notes.txt\n');
    writeFileSync(path.join(api, 'src/local-notes.txt'), `${M.nested}\n`);
    writeFileSync(path.join(api, '.dockerignore'), '# docs stay out of the image\ndocs\n**/*.md\n!KEEP.md\n');
    mkdirSync(path.join(api, 'docs'));
    writeFileSync(path.join(api, 'docs/guide.txt'), `${M.dockerDir}\n`);
    writeFileSync(path.join(api, 'NOTES.md'), `${M.dockerGlob}\n`);
    writeFileSync(path.join(api, 'KEEP.md'), `${M.dockerKeep}\n`);
    writeFileSync(path.join(api, 'deleted.txt'), 'tracked, then deleted from the work tree\n');
  });
  // After the commit: a file excluded by .git/info/exclude, an untracked one, a deleted tracked one.
  writeFileSync(path.join(dir, '.git/info/exclude'), '/services/api/excluded.txt\n');
  writeFileSync(path.join(dir, API, 'excluded.txt'), `${M.infoExclude}\n`);
  writeFileSync(path.join(dir, API, 'untracked.txt'), `${M.untracked}\n`);
  rmSync(path.join(dir, API, 'deleted.txt'));
  build = cli(dir, ['build', D, '--keep-workspace']);
}, 180_000);

describe('build context = what Git would ship', () => {
  it('the build succeeds with a tracked file deleted from the work tree', () => {
    expect(build.code, build.stderr).toBe(0);
    expect(git(dir, 'ls-files', `${API}/deleted.txt`)).toBe(`${API}/deleted.txt`);
  });

  it('an untracked file that no ignore rule matches is shipped (in the step workspace and in the image layer)', () => {
    const hits = found(M.untracked);
    expect(
      hits.some((h) => h.startsWith('.atmos/images/') && h.includes('gunzipped')),
      hits.join('\n'),
    ).toBe(true);
    expect(
      hits.some((h) => h.startsWith('.atmos/workspaces/')),
      hits.join('\n'),
    ).toBe(true);
  });

  it('services/api/.env listed in .gitignore never reaches the CAS, the step workspace or the image', () => {
    expect(build.code, build.stderr).toBe(0);
    expect(found(M.gitignored)).toEqual([]);
  });

  it('a file ignored by a nested .gitignore (services/api/src/.gitignore) is not shipped', () => {
    expect(build.code, build.stderr).toBe(0);
    expect(found(M.nested)).toEqual([]);
  });

  it('a file excluded by .git/info/exclude is not shipped', () => {
    expect(build.code, build.stderr).toBe(0);
    expect(found(M.infoExclude)).toEqual([]);
  });

  it('a .dockerignore\'d directory ("docs") and glob ("**/*.md") are not shipped, though tracked', () => {
    expect(build.code, build.stderr).toBe(0);
    expect(git(dir, 'ls-files', `${API}/docs/guide.txt`, `${API}/NOTES.md`)).not.toBe('');
    expect(found(M.dockerDir)).toEqual([]);
    expect(found(M.dockerGlob)).toEqual([]);
  });

  it('a .dockerignore "!" exception ("!KEEP.md") is shipped (the last matching pattern wins)', () => {
    expect(found(M.dockerKeep).some((h) => h.startsWith('.atmos/images/'))).toBe(true);
  });
});

describe('a source Git ships nothing of', () => {
  it('is refused at validate and by rollout (exit 2 at vars.source) instead of building an empty image', () => {
    const repo = freshExample((d) => writeFileSync(path.join(d, API, '.gitignore'), '*\n'));
    expect(git(repo, 'ls-files', API)).toBe('');
    expectRefused(repo, D, where(repo, `deployments/${D}.yaml`, 'source: ./services/api', './services/api'), /source "\.\/services\/api" ships no file: everything in it is ignored by Git/);
  });
});

describe('build context without Git (a plain copy of a repository)', () => {
  const plain = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-ctx-'));
  afterAll(() => rmSync(plain, { recursive: true, force: true }));

  it('honours .gitignore files from the repository root down (anchored, nested, dir-only, "!") and .dockerignore', () => {
    const files: Record<string, string> = {
      '.gitignore': '*.log\n/svc/root-only.txt\n',
      'svc/.gitignore': 'secret/\n.env\n!keep.log\n',
      'svc/.dockerignore': 'tests\n',
      'svc/.env': 'x',
      'svc/app.js': 'x',
      'svc/debug.log': 'x',
      'svc/keep.log': 'x',
      'svc/root-only.txt': 'x',
      'svc/secret/key.pem': 'x',
      'svc/lib/secret': 'x',
      'svc/lib/util.js': 'x',
      'svc/tests/a.test.js': 'x',
      'svc/node_modules/dep/index.js': 'x',
    };
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(plain, rel)), { recursive: true });
      writeFileSync(path.join(plain, rel), text);
    }
    symlinkSync('app.js', path.join(plain, 'svc/link.js'));
    expect(buildContext(path.join(plain, 'svc'), plain).files).toEqual(['.dockerignore', '.gitignore', 'app.js', 'keep.log', 'lib/secret', 'lib/util.js', 'link.js']);
  });

  it('a symlink loop in the source (svc/loop → .) is listed, not walked forever, and the CAS refuses it with an exit-2 error naming it', () => {
    const svc = path.join(plain, 'loopy');
    mkdirSync(svc, { recursive: true });
    writeFileSync(path.join(svc, 'app.js'), 'x');
    symlinkSync('.', path.join(svc, 'loop'));
    const ctx = buildContext(svc, plain);
    expect(ctx.files).toEqual(['app.js', 'loop']);
    let thrown: unknown;
    try {
      new Cas(path.join(plain, '.cache')).putDir(svc, { files: ctx.files, exclude: ctx.exclude, within: plain });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DiagnosticError);
    expect(exitCodeOf(thrown)).toBe(2);
    expect((thrown as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'paths/symlink-loop', location: { file: 'loopy/loop' } });
    expect(existsSync(path.join(plain, '.cache'))).toBe(false);
  });
});

describe('symlinks in the build context', () => {
  it("a symlink inside the repository is shipped as its target's content; editing the target changes the build", { timeout: 180_000 }, () => {
    const repo = freshExample((d) => {
      mkdirSync(path.join(d, 'shared'));
      writeFileSync(path.join(d, 'shared/banner.txt'), 'one\n');
      symlinkSync('../../shared/banner.txt', path.join(d, API, 'banner.txt'));
    });
    const fp = (r: CliResult) => {
      expect(r.code, r.stderr).toBe(0);
      return finishedStep(r.stdout, /:install$/)?.fingerprint;
    };
    const a = fp(cli(repo, ['build', D, '--events', 'ndjson']));
    writeFileSync(path.join(repo, 'shared/banner.txt'), 'two\n');
    commitAll(repo);
    const b = fp(cli(repo, ['build', D, '--events', 'ndjson']));
    expect(a).toMatch(/^sha256:/);
    expect(b).toMatch(/^sha256:/);
    expect(b).not.toBe(a);
  });
});

describe('the SBOM describes the build context', () => {
  it('a package-lock.json that Git ignores is not read for the SBOM; the same file tracked is', () => {
    const lock = {
      name: 'payment-api',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'payment-api', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } },
        'node_modules/left-pad': { version: '1.3.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz' },
      },
    };
    const repo = freshExample((d) => writeFileSync(path.join(d, API, 'package-lock.json'), JSON.stringify(lock, null, 2)));
    const sbom = () => cli(repo, ['sbom', D, '--target', 'dev', '--component', 'api']);
    const tracked = sbom();
    expect(tracked.code, tracked.stderr).toBe(0);
    expect(tracked.stdout).toContain('pkg:npm/left-pad@1.3.0');
    writeFileSync(path.join(repo, API, '.gitignore'), 'node_modules/\ndist/\npackage-lock.json\n');
    git(repo, 'rm', '-q', '--cached', `${API}/package-lock.json`);
    commitAll(repo);
    const ignored = sbom();
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(ignored.stdout).not.toContain('left-pad');
  });
});
