import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { NO_DAGGER_NOTICE, selectEngine, whichDaggerOnPath, type EngineChoice } from '../../src/engine/select.js';

const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-select-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selectEngine', () => {
  const onPath = () => '/usr/local/bin/dagger';
  const notOnPath = () => undefined;

  it('obeys an explicit choice whatever the environment', () => {
    const envs: NodeJS.ProcessEnv[] = [{}, { DAGGER_SESSION_PORT: '4242', DAGGER_SESSION_TOKEN: 't' }, { _EXPERIMENTAL_DAGGER_CLI_BIN: '/opt/dagger' }];
    for (const env of envs) {
      for (const which of [onPath, notOnPath]) {
        expect(selectEngine('local', env, which)).toEqual({ engine: 'local', reason: '--engine local' });
        expect(selectEngine('dagger', env, which)).toEqual({ engine: 'dagger', reason: '--engine dagger' });
      }
    }
  });

  it('auto: every combination of DAGGER_SESSION_PORT, _EXPERIMENTAL_DAGGER_CLI_BIN and dagger on PATH', () => {
    const ports: (string | undefined)[] = [undefined, '', '4242'];
    const bins: (string | undefined)[] = [undefined, '', '/opt/dagger/bin/dagger'];
    let rows = 0;
    for (const port of ports) {
      for (const bin of bins) {
        for (const which of [onPath, notOnPath]) {
          const env: NodeJS.ProcessEnv = {};
          if (port !== undefined) env.DAGGER_SESSION_PORT = port;
          if (bin !== undefined) env._EXPERIMENTAL_DAGGER_CLI_BIN = bin;
          let asked = false;
          const r = selectEngine('auto', env, (e) => {
            asked = true;
            expect(e).toBe(env);
            return which();
          });
          rows++;
          if (port) {
            expect(r).toEqual({ engine: 'dagger', reason: 'auto: DAGGER_SESSION_PORT is set (running inside a Dagger session)' });
            expect(asked).toBe(false); // no PATH walk when not needed
          } else if (bin) {
            expect(r).toEqual({ engine: 'dagger', reason: 'auto: _EXPERIMENTAL_DAGGER_CLI_BIN is set (/opt/dagger/bin/dagger)' });
            expect(asked).toBe(false);
          } else if (which === onPath) {
            expect(r).toEqual({ engine: 'dagger', reason: 'auto: dagger CLI found on PATH (/usr/local/bin/dagger)' });
          } else {
            // An empty variable counts as unset.
            expect(r).toEqual({ engine: 'local', reason: 'auto: no Dagger engine found', notice: NO_DAGGER_NOTICE });
            expect(r.notice).toBe('no Dagger engine found (DAGGER_SESSION_PORT, _EXPERIMENTAL_DAGGER_CLI_BIN, dagger on PATH): running steps with the local engine');
          }
        }
      }
    }
    expect(rows).toBe(18);
  });

  it('only the local fallback carries a notice', () => {
    for (const c of ['auto', 'local', 'dagger'] as EngineChoice[]) {
      const r = selectEngine(c, { DAGGER_SESSION_PORT: '1' }, () => undefined);
      expect(r.notice).toBeUndefined();
    }
  });

  it('an unknown choice is a usage error with the valid values', () => {
    try {
      selectEngine('docker' as EngineChoice, {}, () => undefined);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DiagnosticError);
      expect(exitCodeOf(e)).toBe(2);
      expect((e as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'cli/engine', message: 'unknown engine "docker"', hint: 'valid values: auto, local, dagger' });
    }
  });

  it('the default PATH check finds an executable file named dagger, without spawning it', () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const c = path.join(dir, 'c');
    mkdirSync(a);
    mkdirSync(b);
    mkdirSync(path.join(c, 'dagger'), { recursive: true }); // a directory named dagger
    writeFileSync(path.join(a, 'dagger'), '#!/bin/sh\ntouch "$0.ran"\n'); // not executable
    chmodSync(path.join(a, 'dagger'), 0o644);
    writeFileSync(path.join(b, 'dagger'), `#!/bin/sh\ntouch "${path.join(dir, 'ran')}"\n`);
    chmodSync(path.join(b, 'dagger'), 0o755);

    expect(whichDaggerOnPath({ PATH: [c, a].join(path.delimiter) })).toBeUndefined();
    expect(whichDaggerOnPath({ PATH: ['', c, a, b].join(path.delimiter) })).toBe(path.join(b, 'dagger'));
    expect(whichDaggerOnPath({})).toBeUndefined();
    expect(selectEngine('auto', { PATH: [a, b].join(path.delimiter) })).toEqual({ engine: 'dagger', reason: `auto: dagger CLI found on PATH (${path.join(b, 'dagger')})` });
    expect(selectEngine('auto', { PATH: [c, a].join(path.delimiter) })).toMatchObject({ engine: 'local', notice: NO_DAGGER_NOTICE });
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
  });
});
