/**
 * Pipelines name their modules (`useModule`) and the run binds each name to a registered
 * module: the built-in pipelines bind to the built-in modules, an unknown name is a located
 * configuration error (exit 2) listing what is registered, and nothing runs.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinModules } from '../../modules/index.js';
import pipelines from '../../pipelines/index.js';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { bindPipeline, defineModule, definePipeline, moduleRegistry, useModule } from '../../src/module/index.js';

describe('module registry', () => {
  it('binds every built-in pipeline to the built-in modules by name', () => {
    expect([...builtinModules.keys()].sort()).toEqual(['nixpack.build', 'nixpack.test', 'terraform.apply', 'terraform.drift', 'terraform.plan', 'zip']);
    for (const p of Object.values(pipelines)) {
      const bound = bindPipeline(p, builtinModules);
      for (const [i, s] of bound.stages.entries()) {
        expect(s.module).toBe(builtinModules.get(p.stages[i].module.name));
        expect(typeof s.module.steps).toBe('function');
      }
    }
  });

  it('refuses a pipeline naming a module nobody registered, with a guess and the registered names', () => {
    const p = definePipeline({ name: 'smoke', description: 'd', mutates: false, stages: [{ name: 'check', module: useModule('terraform.aply') }] });
    let err: unknown;
    try {
      bindPipeline(p, builtinModules);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiagnosticError);
    expect(exitCodeOf(err)).toBe(2);
    const d = (err as DiagnosticError).diagnostics[0];
    expect(d.code).toBe('pipeline/unknown-module');
    expect(d.message).toBe('pipeline "smoke", stage "check": no module named "terraform.aply" is registered');
    expect(d.hint).toContain('did you mean "terraform.apply"?');
    expect(d.hint).toContain('nixpack.build, nixpack.test');
  });

  it('keeps a stage that holds its module definition as it is, and refuses two modules of one name', () => {
    const m = defineModule({ name: 'smoke-test', inputs: z.object({}), steps: () => [] });
    const p = definePipeline({ name: 'smoke', description: 'd', mutates: false, stages: [{ name: 'check', module: m }] });
    expect(bindPipeline(p, undefined).stages[0].module).toBe(m);
    expect(() => moduleRegistry(m, m)).toThrow('two modules are named "smoke-test"');
  });
});
