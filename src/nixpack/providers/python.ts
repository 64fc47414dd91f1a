import { NIXPACKS_BASE_IMAGE, type BuildPlan } from '../types.js';
import type { SourceTree } from './app.js';
import { phase, type Found, type Provider } from './provider.js';

/**
 * Python (nixpacks `src/providers/python.rs`): detected by `requirements.txt`,
 * `pyproject.toml`, `Pipfile` or `main.py`; dependencies go into a venv at /opt/venv
 * with pip, poetry, pdm, uv or pipenv, whichever the lockfiles name.
 */

export const VENV = '/opt/venv';
const PIP_CACHE = '/root/.cache/pip';
const PDM_CACHE = '/root/.cache/pdm';
const UV_CACHE = '/root/.cache/uv';
const POETRY_VERSION = '1.3.1';
const PDM_VERSION = '2.13.3';
const UV_VERSION = '0.4.30';
const PYTHON_NIXPKGS_ARCHIVE = 'bc8f8d1be58e8c8383e683a06e1e1e57893fff87';
const LEGACY_PYTHON_NIXPKGS_ARCHIVE = '5148520bfab61f99fd25fb9ff7bfbb50dad3c9db';
const EVIDENCE = ['requirements.txt', 'pyproject.toml', 'Pipfile', 'main.py'] as const;

const MODERN = new Set(['3.10', '3.11', '3.12', '3.13']);
const LEGACY = new Set(['2.7', '3.7', '3.8', '3.9']);

/** `3.11.4`, `python-3.11`, `3.11`, `"3.11"` -> `3.11`; `2` -> `2.7`; undefined if unreadable. */
export function pythonMinor(spec: string): string | undefined {
  const m = /^[\sa-zA-Z"'-]*(\d+)(?:\.(\d+))?(?:\.\d+)*["']?$/.exec(spec.trim());
  if (!m) return undefined;
  if (m[1] === '2' && (m[2] === undefined || m[2] === '7')) return '2.7';
  if (m[2] === undefined) return undefined;
  return `${m[1]}.${m[2]}`;
}

function versionSpec(app: SourceTree): { spec: string; from: string } | undefined {
  if (app.hasFile('.python-version')) return { spec: app.read('.python-version'), from: '.python-version' };
  if (app.hasFile('runtime.txt')) return { spec: app.read('runtime.txt'), from: 'runtime.txt' };
  if (app.hasFile('Pipfile')) {
    const m = /(?:python_version|python_full_version)\s*=\s*['"]([0-9.]+)/.exec(app.read('Pipfile'));
    if (m) return { spec: m[1], from: 'Pipfile' };
  }
  if (app.hasFile('.tool-versions')) {
    const line = app
      .read('.tool-versions')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((p) => p[0] === 'python' && p[1]);
    if (line) return { spec: line[1], from: '.tool-versions' };
  }
  return undefined;
}

/** The chosen Python: `version` (`3` = the unpinned default `python3`), nix package and archive. */
function pythonVersion(app: SourceTree): { version: string; from: string; pkg: string; archive: string } {
  const s = versionSpec(app);
  const minor = s ? pythonMinor(s.spec.split('\n')[0]) : undefined;
  if (s && minor && (MODERN.has(minor) || LEGACY.has(minor))) {
    return {
      version: minor,
      from: s.from,
      pkg: `python${minor.replace('.', '')}`,
      archive: MODERN.has(minor) ? PYTHON_NIXPKGS_ARCHIVE : LEGACY_PYTHON_NIXPKGS_ARCHIVE,
    };
  }
  return { version: '3', from: 'default', pkg: 'python3', archive: PYTHON_NIXPKGS_ARCHIVE };
}

interface Install {
  cmd?: string;
  caches: string[];
  variables: Record<string, string>;
}

function install(app: SourceTree): Install {
  const venv = `python -m venv --copies ${VENV} && . ${VENV}/bin/activate`;
  if (app.hasFile('requirements.txt')) {
    return { cmd: `${venv} && pip install -r requirements.txt`, caches: [PIP_CACHE], variables: {} };
  }
  if (app.hasFile('pyproject.toml')) {
    if (app.hasFile('poetry.lock')) {
      return {
        cmd: `${venv} && pip install poetry==$NIXPACKS_POETRY_VERSION && poetry install --no-dev --no-interaction --no-ansi`,
        caches: [PIP_CACHE],
        variables: { NIXPACKS_POETRY_VERSION: toolVersion(app, 'poetry') ?? POETRY_VERSION },
      };
    }
    if (app.hasFile('pdm.lock')) {
      return {
        cmd: `${venv} && pip install pdm==$NIXPACKS_PDM_VERSION && pdm install --prod`,
        caches: [PDM_CACHE, PIP_CACHE],
        variables: { NIXPACKS_PDM_VERSION: PDM_VERSION },
      };
    }
    if (app.hasFile('uv.lock')) {
      return {
        cmd: `${venv} && pip install uv==$NIXPACKS_UV_VERSION && uv sync --no-dev --frozen`,
        caches: [UV_CACHE],
        variables: { NIXPACKS_UV_VERSION: toolVersion(app, 'uv') ?? UV_VERSION, UV_PROJECT_ENVIRONMENT: VENV },
      };
    }
    return {
      cmd: `${venv} && pip install --upgrade build setuptools && pip install .`,
      caches: [PIP_CACHE],
      variables: {},
    };
  }
  if (app.hasFile('Pipfile')) {
    const pipenv = app.hasFile('Pipfile.lock') ? 'PIPENV_VENV_IN_PROJECT=1 pipenv install --deploy' : 'PIPENV_VENV_IN_PROJECT=1 pipenv install --skip-lock';
    return { cmd: `${venv} && ${pipenv}`, caches: [PIP_CACHE], variables: {} };
  }
  return { caches: [], variables: {} };
}

function toolVersion(app: SourceTree, tool: string): string | undefined {
  for (const l of app.readOptional('.tool-versions').split('\n')) {
    const p = l.trim().split(/\s+/);
    if (p[0] === tool && p[1]) return p[1];
  }
  return undefined;
}

export const python: Provider = {
  name: 'python',
  looksFor: 'requirements.txt, pyproject.toml, Pipfile or main.py',
  detect(app): Found | undefined {
    const evidence = app.firstFile(EVIDENCE);
    if (!evidence) return undefined;
    const { version, from } = pythonVersion(app);
    return { evidence, version, versionFrom: from };
  },
  plan(app): BuildPlan {
    const py = pythonVersion(app);
    const inst = install(app);
    const nixPkgs = [py.pkg];
    if (app.hasFile('Pipfile')) nixPkgs.push('pipenv');
    nixPkgs.push('gcc');
    return {
      providers: ['python'],
      buildImage: NIXPACKS_BASE_IMAGE,
      variables: {
        PIP_DEFAULT_TIMEOUT: '100',
        PIP_DISABLE_PIP_VERSION_CHECK: '1',
        PIP_NO_CACHE_DIR: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONFAULTHANDLER: '1',
        PYTHONHASHSEED: 'random',
        PYTHONUNBUFFERED: '1',
        ...inst.variables,
      },
      phases: {
        setup: phase({
          name: 'setup',
          nixPkgs,
          // many wheels need libz / libstdc++ at run time
          nixLibs: ['zlib', 'stdenv.cc.cc.lib'],
          nixpkgsArchive: py.archive,
        }),
        install: phase({
          name: 'install',
          dependsOn: ['setup'],
          cmds: inst.cmd ? [inst.cmd] : [],
          cacheDirectories: [...inst.caches].sort(),
          paths: inst.cmd ? [`${VENV}/bin`] : [],
        }),
        build: phase({ name: 'build', dependsOn: ['install'] }),
      },
      start: { cmd: app.hasFile('main.py') ? 'python main.py' : null },
    };
  },
};
