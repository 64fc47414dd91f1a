/**
 * `atmos-pipe/module` is what a user's module imports (SPEC 8): from a separate package that
 * depends on atmos-pipe (here `node_modules/atmos-pipe` linked to this repository, built), plain
 * Node resolves it through the package's `exports`, and it gives `defineModule`,
 * `definePipeline` and the step types. Needs `npm run build` (as every end-to-end test).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

let dir: string;

beforeAll(() => {
  expect(existsSync(path.join(ROOT, 'dist/src/module/index.js')), 'run `npm run build` first').toBe(true);
  dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-user-module-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'user-modules', type: 'module', dependencies: { 'atmos-pipe': '*', zod: '*' } }));
  mkdirSync(path.join(dir, 'node_modules/@types'), { recursive: true });
  // As `npm install` would leave it: the package itself, and what the user's module uses.
  symlinkSync(ROOT, path.join(dir, 'node_modules/atmos-pipe'));
  symlinkSync(path.join(ROOT, 'node_modules/zod'), path.join(dir, 'node_modules/zod'));
  symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(dir, 'node_modules/@types/node'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atmos-pipe/module from another package', () => {
  it('node imports defineModule and definePipeline; a module defined with them produces steps', () => {
    writeFileSync(
      path.join(dir, 'smoke.mjs'),
      `import { z } from 'zod';
import * as api from 'atmos-pipe/module';
const { defineModule, definePipeline, sha256, DiagnosticError, error } = api;
const smoke = defineModule({
  name: 'smoke-test',
  inputs: z.object({ url: z.string() }),
  steps: (ctx) => [{
    id: ctx.stepId('curl'), module: 'smoke-test', component: ctx.component.address, image: 'curlimages/curl:8.10.1',
    argv: ['curl', '-fsS', ctx.inputs.url], env: {}, secrets: [], inputs: {}, outputs: {}, needs: [], network: true, cache: 'never',
  }],
});
const pipeline = definePipeline({ name: 'smoke', description: 'smoke tests', mutates: false, stages: [{ name: 'smoke', module: smoke }] });
const ctx = { inputs: smoke.inputs.parse({ url: 'http://api' }), component: { address: 'terraform/api' }, stepId: (n) => 'smoke:terraform/api:' + n };
const located = new DiagnosticError(error('smoke/down', 'api is down'));
console.log(JSON.stringify({
  exports: Object.keys(api).sort(),
  steps: await smoke.steps(ctx),
  pipeline: pipeline.stages.map((s) => s.module.name),
  digest: sha256('x'),
  diagnostic: located.diagnostics[0].code,
}));
`,
    );
    const r = spawnSync(process.execPath, ['smoke.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { exports: string[]; steps: unknown[]; pipeline: string[]; digest: string; diagnostic: string };
    expect(out.exports).toEqual(expect.arrayContaining(['defineModule', 'definePipeline', 'DiagnosticError', 'error', 'sha256', 'fromWorkspace', 'stepSecrets', 'recordImage', 'openValue']));
    expect(out.steps).toEqual([
      {
        id: 'smoke:terraform/api:curl',
        module: 'smoke-test',
        component: 'terraform/api',
        image: 'curlimages/curl:8.10.1',
        argv: ['curl', '-fsS', 'http://api'],
        env: {},
        secrets: [],
        inputs: {},
        outputs: {},
        needs: [],
        network: true,
        cache: 'never',
      },
    ]);
    expect(out.pipeline).toEqual(['smoke-test']);
    expect(out.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(out.diagnostic).toBe('smoke/down');
  });

  it('tsc type-checks a module written against the types of atmos-pipe/module', () => {
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['smoke.ts', 'wrong.ts'],
      }),
    );
    writeFileSync(
      path.join(dir, 'smoke.ts'),
      `import { z } from 'zod';
import { defineModule, type Capability, type ModuleContext, type Stage, type Step, type StepInput, type StepResult } from 'atmos-pipe/module';
const input: StepInput = { kind: 'dir', digest: 'sha256:00' };
const needs: Capability[] = ['container'];
export const smoke = defineModule({
  name: 'smoke-test',
  inputs: z.object({}),
  steps(ctx: ModuleContext<{}>): Step[] {
    return [{ id: ctx.stepId('x'), module: 'smoke-test', component: ctx.component.address, image: 'alpine:3.20', argv: ['true'], env: {}, secrets: [], inputs: { app: input }, outputs: {}, needs: [], network: false, cache: 'content', requires: needs.map((capability) => ({ capability, what: 'runs in alpine', code: 'smoke/alpine' })) }];
  },
  outputs: (results: StepResult[]) => ({ ok: results.every((r) => r.status !== 'failed') }),
});
export const stage: Stage = { name: 'smoke', module: smoke };
`,
    );
    // The types are real: a step without its required fields does not compile.
    writeFileSync(path.join(dir, 'wrong.ts'), `import type { Step } from 'atmos-pipe/module';\nexport const bad: Step = { id: 'x' };\n`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    expect(errors.length, r.stdout).toBeGreaterThan(0);
    expect(
      errors.every((l) => l.startsWith('wrong.ts')),
      r.stdout,
    ).toBe(true);
  });
});
