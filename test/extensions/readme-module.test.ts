/**
 * The README's "Writing a module" section is a working module: its module and pipeline,
 * copied verbatim into a repository, load without a build, pass and fail as they say, and
 * the module stays under 30 lines.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRepo, makeRepo, ROOT, runCli } from '../helpers.js';

/** The fenced TypeScript blocks of the section, by the file named in their first line. */
function readmeFiles(): Record<string, string> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Writing a module');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const files: Record<string, string> = {};
  for (const m of section.matchAll(/```ts\n\/\/ (\S+)\n([\s\S]*?)```/g)) files[m[1]] = m[2];
  return files;
}

const deployment = (region: string) =>
  ['deployment:', '  name: shop', '  stacks: [catalog/app]', '  components:', '    terraform:', `      app: { vars: { region: "${region}" } }`, '  targets:', '    dev: {}', ''].join('\n');

describe('README: Writing a module', () => {
  it('the module and pipeline it shows load, run, and fail on an empty var', () => {
    const files = readmeFiles();
    expect(Object.keys(files).sort()).toEqual(['modules/require-vars/index.ts', 'pipelines/verify.ts']);
    expect(files['modules/require-vars/index.ts'].trimEnd().split('\n').length + 1).toBeLessThan(30);

    const repo = makeRepo(baseRepo({ ...files, 'deployments/shop.yaml': deployment('eu-west-1') }));
    const listed = runCli(['modules', '--format', 'json'], { cwd: repo, env: { CI: '' } });
    expect(listed.code, listed.stderr).toBe(0);
    const mod = (JSON.parse(listed.stdout) as { modules: { uses: string; inputs: unknown[] }[] }).modules.find((m) => m.uses === 'require-vars');
    expect(mod?.inputs).toEqual([{ key: 'vars', type: 'string[]', optional: false, description: 'names of vars that must be set' }]);

    const ok = runCli(['run', 'verify', 'shop', '--target', 'dev'], { cwd: repo, env: { CI: '' } });
    expect(ok.code, ok.stderr).toBe(0);

    const empty = makeRepo(baseRepo({ ...files, 'deployments/shop.yaml': deployment('') }));
    const failed = runCli(['run', 'verify', 'shop', '--target', 'dev'], { cwd: empty, env: { CI: '' } });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('region is empty');
  });
});
