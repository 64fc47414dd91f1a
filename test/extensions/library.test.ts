/**
 * The loader as a library (src/extensions): what the CLI calls, and what a deployment's
 * `steps:` entries call for a `uses:` that is a source rather than a module name.
 */
import { describe, expect, it } from 'vitest';
import { isModuleName, loadExtensions, resolveModuleRef } from '../../src/extensions/index.js';
import { type AnyModule, defineModule, definePipeline, moduleRegistry, type ModuleContext, type Step } from '../../src/module/index.js';
import { stampModuleDigest } from '../../src/module/digest.js';
import { openRepository } from '../../src/repository.js';
import { z } from 'zod';
import { makeRepo } from '../helpers.js';

const MODULE = `import { defineModule } from 'atmos-pipe/module';
import { z } from 'zod';
export default defineModule({
  name: 'note',
  inputs: z.object({ text: z.string() }),
  steps: (ctx) => [{ id: ctx.stepId('note'), module: 'note', component: 'x', image: 'alpine', argv: ['true', ctx.inputs.text], env: {}, secrets: [], inputs: {}, outputs: {}, needs: [], network: false, cache: 'content' }],
});
`;

const ctx = { inputs: { text: 'hi' }, stepId: (n: string) => `p:x:${n}` } as unknown as ModuleContext;

describe('the extensions library', () => {
  it('tells module names from sources', () => {
    expect(isModuleName('smoke-test')).toBe(true);
    expect(isModuleName('terraform.apply')).toBe(true);
    expect(isModuleName('./shared/note')).toBe(false);
    expect(isModuleName('git::https://example.com/m.git//note?ref=v1')).toBe(false);
  });

  it("resolveModuleRef loads a module from a local path, shares the CLI's API and zod, and stamps its digest into its steps", async () => {
    const repo = openRepository({ cwd: makeRepo({ 'shared/note/index.ts': MODULE }) });
    const loaded = await resolveModuleRef(repo, './shared/note');
    expect(loaded.origin).toMatchObject({ kind: 'repository', file: './shared/note' });
    expect(loaded.module.name).toBe('note');
    // The module's zod is this process's zod: its schema is a ZodObject of ours.
    expect(loaded.module.inputs).toBeInstanceOf(z.ZodObject);
    const steps = (await loaded.module.steps(ctx)) as Step[];
    stampModuleDigest(loaded.module, steps);
    expect(steps[0].facts).toEqual({ 'module.digest': loaded.origin.digest });
    // A built-in (or in-process) module has no digest: its steps keep their fingerprints.
    const inProcess = defineModule({ name: 'inline', inputs: z.object({}), steps: () => [] });
    const none: Step[] = [{ ...steps[0], facts: undefined }];
    stampModuleDigest(inProcess, none);
    expect(none[0].facts).toBeUndefined();
  });

  it('refuses a local module source outside the repository, and a lock file that does not read as pins', async () => {
    const outside = makeRepo({ 'note/index.ts': MODULE });
    const repo = openRepository({ cwd: makeRepo({ 'shared/note/index.ts': MODULE }) });
    await expect(resolveModuleRef(repo, `${outside}/note`)).rejects.toThrow(/module source ".*" leaves the repository/);
    const damaged = openRepository({ cwd: makeRepo({ 'modules.lock.yaml': 'modules:\n  git::https://example.com/m.git//x?ref=v1: { source: x, digest: md5 }\n' }) });
    await expect(resolveModuleRef(damaged, 'git::https://example.com/m.git//x?ref=v1')).rejects.toThrow(
      'modules.lock.yaml: the entry of git::https://example.com/m.git//x?ref=v1 has no valid source and sha256 digest',
    );
  });

  it("a module defined inside a pipeline's file carries the digest of the pipeline's files", async () => {
    const inline = `${MODULE.replace('export default defineModule', 'const note = defineModule')}
import { definePipeline } from 'atmos-pipe/module';
export default definePipeline({ name: 'notes', description: 'notes', mutates: false, stages: [{ name: 'note', module: note, inputs: () => ({ text: 'hi' }) }] });
`;
    const repo = openRepository({ cwd: makeRepo({ 'pipelines/notes.ts': inline }) });
    const ext = await loadExtensions(repo, { modules: moduleRegistry(), pipelines: {} });
    const module = ext.pipelines.notes.stages[0].module as AnyModule;
    const steps = (await module.steps(ctx)) as Step[];
    stampModuleDigest(module, steps);
    expect(steps[0].facts).toEqual({ 'module.digest': ext.pipelineOrigins.get('notes')?.digest });
  });

  it("loadExtensions merges the repository's modules into the given built-ins, with their origins", async () => {
    const repo = openRepository({ cwd: makeRepo({ 'modules/note/index.ts': MODULE }) });
    const builtin = defineModule({ name: 'builtin.x', inputs: z.object({}), steps: () => [] });
    const pipeline = definePipeline({ name: 'p', description: 'p', mutates: false, stages: [{ name: 's', module: builtin }] });
    const ext = await loadExtensions(repo, { modules: moduleRegistry(builtin), pipelines: { p: pipeline } });
    expect([...ext.modules.keys()].sort()).toEqual(['builtin.x', 'note']);
    expect(ext.origins.get('builtin.x')).toEqual({ kind: 'builtin', digest: '' });
    expect(ext.origins.get('note')).toMatchObject({ kind: 'repository', file: 'modules/note/index.ts' });
    expect(ext.pipelines.p).toBe(pipeline);
  });
});
