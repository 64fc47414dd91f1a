/**
 * A repository's own modules and pipelines (SPEC 8), through the built CLI: a TypeScript
 * module (importing a sibling file) and a JavaScript module loaded without a build step, a
 * user pipeline run by name, its steps cached until the module's files change, and the
 * configuration errors of loading (name collisions, a module that throws, nothing exported).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRepo, makeRepo, runCli } from '../helpers.js';

/** The TypeScript module: a step per component that echoes a greeting (its words from a sibling file). */
const SMOKE_TS = `import { defineModule, type Step } from 'atmos-pipe/module';
import { z } from 'zod';
import { greeting } from './words.js';

interface Inputs { who: string; times: number }

export default defineModule<Inputs>({
  name: 'smoke-test',
  description: 'Says hello to a component',
  inputs: z.object({ who: z.string().describe('whom to greet'), times: z.number().int().default(1) }),
  steps: (ctx): Step[] => [
    {
      id: ctx.stepId('hello'),
      module: 'smoke-test',
      component: ctx.component.address,
      image: 'alpine',
      argv: ['/bin/sh', '-c', \`echo "\${greeting} \${ctx.inputs.who} x\${ctx.inputs.times}"\`],
      env: {},
      secrets: [],
      inputs: {},
      outputs: {},
      needs: [],
      network: false,
      cache: 'content',
    },
  ],
});
`;

const ECHO_JS = `import { defineModule } from 'atmos-pipe/module';
import { z } from 'zod';

export const echo = defineModule({
  name: 'echo',
  inputs: z.object({ text: z.string().optional() }),
  steps: () => [],
});
export const twice = echo;
`;

const VERIFY_TS = `import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'verify',
  description: 'Greets every Terraform component',
  mutates: false,
  stages: [{ name: 'smoke', module: useModule('smoke-test'), appliesTo: (c) => c.type === 'terraform', inputs: (c) => ({ who: c.name }) }],
});
`;

function userRepo(extra: Record<string, string> = {}): string {
  return makeRepo(
    baseRepo({
      'modules/smoke-test/index.ts': SMOKE_TS,
      'modules/smoke-test/words.ts': "export const greeting: string = 'hello';\n",
      'modules/echo/index.mjs': ECHO_JS,
      // Terraform's own modules may live beside step modules: no index file, not loaded.
      'modules/vpc/main.tf': '# a Terraform module\n',
      'pipelines/verify.ts': VERIFY_TS,
      // Two independent components: a pipeline that applies nothing has no upstream outputs to wait for.
      'deployments/shop.yaml': ['deployment:', '  name: shop', '  stacks: [catalog/app]', '  components:', '    terraform:', '      db: {}', '      app: {}', '  targets:', '    dev: {}', ''].join(
        '\n',
      ),
      ...extra,
    }),
  );
}

const NO_CI = { CI: '' };

interface Event {
  type: string;
  id?: string;
  status?: string;
}
function events(stdout: string): Event[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

describe('user modules and pipelines', () => {
  it('`modules` lists built-in, TypeScript and JavaScript modules with their origin and inputs; no build step', () => {
    const repo = userRepo();
    const r = runCli(['modules', '--format', 'json'], { cwd: repo, env: NO_CI });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      modules: {
        uses: string;
        name: string;
        origin: { kind: string; file?: string; digest: string };
        inputs: { key: string; type: string; optional: boolean; default?: unknown; description?: string }[];
      }[];
      pipelines: { name: string; origin: { kind: string; file?: string }; stages: { name: string; module: string }[] }[];
    };
    const byName = new Map(out.modules.map((m) => [m.uses, m]));
    expect(byName.get('terraform.apply')?.origin.kind).toBe('builtin');
    const smoke = byName.get('smoke-test');
    expect(smoke?.origin).toMatchObject({ kind: 'repository', file: 'modules/smoke-test/index.ts' });
    expect(smoke?.origin.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(smoke?.inputs).toEqual([
      { key: 'who', type: 'string', optional: false, description: 'whom to greet' },
      { key: 'times', type: 'number', optional: true, default: 1 },
    ]);
    // Exported twice (two names): one module.
    expect(byName.get('echo')).toMatchObject({ origin: { kind: 'repository', file: 'modules/echo/index.mjs' }, inputs: [{ key: 'text', type: 'string', optional: true }] });
    expect(out.modules.filter((m) => m.name === 'echo')).toHaveLength(1);
    expect(out.pipelines.find((p) => p.name === 'verify')).toEqual({
      name: 'verify',
      description: 'Greets every Terraform component',
      origin: expect.objectContaining({ kind: 'repository', file: 'pipelines/verify.ts' }),
      stages: [{ name: 'smoke', module: 'smoke-test' }],
    });
    // The transformed JavaScript is cached by content under the cache dir, not beside the sources.
    expect(readdirSync(path.join(repo, 'modules/smoke-test')).sort()).toEqual(['index.ts', 'words.ts']);
    expect(readdirSync(path.join(repo, '.atmos/cache/modules')).length).toBeGreaterThan(0);
    const table = runCli(['modules'], { cwd: repo, env: NO_CI });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('who: string, times?: number = 1');
  });

  it("`run <user pipeline>` runs its module's steps in the sandbox; unchanged it is cached, a changed module re-runs them", () => {
    const repo = userRepo();
    const run = () => {
      const r = runCli(['run', 'verify', 'shop', '--target', 'dev', '--events', 'ndjson'], { cwd: repo, env: NO_CI });
      expect(r.code, r.stderr).toBe(0);
      return events(r.stdout).filter((e) => e.type === 'step.finished');
    };
    const first = run();
    expect(first.map((e) => [e.id, e.status]).sort()).toEqual([
      ['verify:terraform/app:hello', 'done'],
      ['verify:terraform/db:hello', 'done'],
    ]);
    expect(run().every((e) => e.status === 'cached')).toBe(true);
    // A change that leaves every step's data alike (a comment) still re-runs: the module's content is in the fingerprint.
    writeFileSync(path.join(repo, 'modules/smoke-test/words.ts'), `// reviewed\n${readFileSync(path.join(repo, 'modules/smoke-test/words.ts'), 'utf8')}`);
    expect(run().every((e) => e.status === 'done')).toBe(true);
    expect(run().every((e) => e.status === 'cached')).toBe(true);
  });

  it('a warm load imports the cached JavaScript without transforming again; an edited cached copy or source is transformed anew', () => {
    const repo = userRepo();
    const describe = () => {
      const r = runCli(['modules', '--format', 'json'], { cwd: repo, env: NO_CI });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { modules: { uses: string; description: string }[] }).modules.find((m) => m.uses === 'smoke-test')?.description;
    };
    expect(describe()).toBe('Says hello to a component');
    // Mark the cached copy: the next load shows the mark, so it read the cache.
    const cache = path.join(repo, '.atmos/cache/modules');
    const [unit] = readdirSync(cache).filter(
      (n) => /^[0-9a-f]{64}$/.test(n) && readdirSync(path.join(cache, n)).includes('index.ts.mjs') && readFileSync(path.join(cache, n, 'index.ts.mjs'), 'utf8').includes('smoke-test'),
    );
    const cached = path.join(cache, unit, 'index.ts.mjs');
    // A warm load reads the cached copy as it is: not written again.
    const written = statSync(cached).mtimeMs;
    expect(describe()).toBe('Says hello to a component');
    expect(statSync(cached).mtimeMs).toBe(written);
    // An edited cached copy is code nobody vouches for: it fails its MAC and is transformed again from the source.
    writeFileSync(cached, readFileSync(cached, 'utf8').replace('Says hello to a component', 'planted in the cache'));
    expect(describe()).toBe('Says hello to a component');
    expect(readFileSync(cached, 'utf8')).not.toContain('planted in the cache');
    writeFileSync(path.join(repo, 'modules/smoke-test/index.ts'), SMOKE_TS.replace('Says hello to a component', 'Greets a component'));
    expect(describe()).toBe('Greets a component');
  });

  it('an unknown pipeline suggests among built-in and repository pipelines', () => {
    const r = runCli(['run', 'verfy', 'shop', '--target', 'dev'], { cwd: userRepo(), env: NO_CI });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown pipeline "verfy"');
    expect(r.stderr).toContain('did you mean "verify"');
  });

  it('refused input writes nothing, not even the transformed modules; a valid command keeps them', () => {
    const repo = userRepo();
    // The modules are loaded (and transformed) before the deployment is found to be missing its target.
    const refused = runCli(['run', 'verify', 'shop', '--target', 'prod'], { cwd: repo, env: NO_CI });
    expect(refused.code, refused.stderr).toBe(2);
    expect(existsSync(path.join(repo, '.atmos'))).toBe(false);
    const listed = runCli(['modules'], { cwd: repo, env: NO_CI });
    expect(listed.code, listed.stderr).toBe(0);
    expect(readdirSync(path.join(repo, '.atmos/cache/modules')).length).toBeGreaterThan(0);
  });

  it('a module named like a built-in one is refused, located at its name, unless it says replaces: true', () => {
    const shadow =
      "import { defineModule } from 'atmos-pipe/module';\nimport { z } from 'zod';\nexport default defineModule({\n  name: 'terraform.plan',\n  inputs: z.object({}),\n  steps: () => [],\n});\n";
    const r = runCli(['modules'], { cwd: userRepo({ 'modules/my-plan/index.ts': shadow }), env: NO_CI });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('modules/my-plan/index.ts:4:9');
    expect(r.stderr).toContain('a module named "terraform.plan" is built in');
    expect(r.stderr).toContain('replaces: true');
    const replaced = runCli(['modules', '--format', 'json'], { cwd: userRepo({ 'modules/my-plan/index.ts': shadow.replace('steps: () => [],', 'steps: () => [],\n  replaces: true,') }), env: NO_CI });
    expect(replaced.code, replaced.stderr).toBe(0);
    const listed = (JSON.parse(replaced.stdout) as { modules: { uses: string; origin: { kind: string } }[] }).modules.find((m) => m.uses === 'terraform.plan');
    expect(listed?.origin.kind).toBe('repository');
  });

  it('two modules of one name: an error naming both files', () => {
    const r = runCli(['modules'], { cwd: userRepo({ 'modules/other/index.js': ECHO_JS }), env: NO_CI });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('two modules are named "echo": in modules/echo/index.mjs and in modules/other/index.js');
  });

  it('a pipeline named like a built-in one is refused', () => {
    const r = runCli(['modules'], { cwd: userRepo({ 'pipelines/plan.ts': VERIFY_TS.replace("name: 'verify'", "name: 'plan'") }), env: NO_CI });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipelines/plan.ts:4:9');
    expect(r.stderr).toContain('a pipeline named "plan" is built in');
  });

  it('a module that throws while loading, or exports nothing usable: exit 2 naming the file and the cause, no stack', () => {
    const throws = runCli(['modules'], { cwd: userRepo({ 'modules/broken/index.ts': "throw new Error('no credentials for the registry');\n" }), env: NO_CI });
    expect(throws.code).toBe(2);
    expect(throws.stderr).toContain('modules/broken/index.ts failed to load: no credentials for the registry');
    expect(throws.stderr).not.toMatch(/\n\s+at /);
    const badName = runCli(['modules'], {
      cwd: userRepo({
        'modules/bad/index.ts':
          "import { defineModule } from 'atmos-pipe/module';\nimport { z } from 'zod';\nexport default defineModule({ name: 'Bad Name', inputs: z.object({}), steps: () => [] });\n",
      }),
      env: NO_CI,
    });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('modules/bad/index.ts failed to load: module name "Bad Name" must look like');
    const nothing = runCli(['modules'], { cwd: userRepo({ 'modules/empty/index.ts': 'export const answer: number = 42;\n' }), env: NO_CI });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('modules/empty/index.ts exports no defineModule(...) result');
    const syntax = runCli(['modules'], { cwd: userRepo({ 'modules/syntax/index.ts': 'export const x = ;\n' }), env: NO_CI });
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('modules/syntax/index.ts:1:');
    const missing = runCli(['modules'], { cwd: userRepo({ 'modules/missing/index.ts': "export { x } from './nowhere.js';\n" }), env: NO_CI });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('modules/missing/index.ts imports "./nowhere.js": no such file in modules/missing/');
  });

  it('atmos.yaml deployments.modules.paths and deployments.pipelines.paths say where to look', () => {
    const repo = makeRepo(
      baseRepo({
        'atmos.yaml': `${baseRepo()['atmos.yaml']}deployments:\n  modules:\n    paths: [ci/modules]\n  pipelines:\n    paths: [ci/pipelines]\n`,
        'ci/modules/smoke-test/index.ts': SMOKE_TS,
        'ci/modules/smoke-test/words.ts': "export const greeting = 'hi';\n",
        'ci/pipelines/verify.ts': VERIFY_TS,
        // Not looked at any more.
        'modules/broken/index.ts': "throw new Error('not loaded');\n",
      }),
    );
    const r = runCli(['modules', '--format', 'json'], { cwd: repo, env: NO_CI });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { modules: { uses: string; origin: { file?: string } }[]; pipelines: { name: string }[] };
    expect(out.modules.find((m) => m.uses === 'smoke-test')?.origin.file).toBe('ci/modules/smoke-test/index.ts');
    expect(out.pipelines.map((p) => p.name)).toContain('verify');
  });
});
