/**
 * Remote modules, pinned (SPEC 8): a pipeline names a module by its source
 * (`git::file://…/mods.git//greet?ref=v1`, a local bare Git repository: no network). The first
 * use on a workstation fetches it through the vendor store and pins its digest in
 * `modules.lock.yaml`; CI refuses one that is not pinned; every load verifies the stored copy
 * (a modified one is evicted and fetched again, and loads only with the pinned digest); a new
 * ref is a new module whose steps run again. A deployment's step hook names one the same way
 * (`uses: git::…`): pinned by `atmos-pipe modules`, refused unpinned in CI, run by a rollout.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseRepo, GIT_ENV, git, makeRepo, runCli, writeFiles } from '../helpers.js';

const greet = (word: string) => `import { defineModule } from 'atmos-pipe/module';
import { z } from 'zod';

export default defineModule({
  name: 'greet',
  inputs: z.object({}),
  steps: (ctx) => [{
    id: ctx.stepId('greet'), module: 'greet', component: ctx.component.address, image: 'alpine',
    argv: ['/bin/sh', '-c', 'echo ${word}'], env: {}, secrets: [], inputs: {}, outputs: {}, needs: [], network: false, cache: 'content',
  }],
});
`;

let bare: string;

beforeAll(() => {
  // A module repository with two tagged versions, served as a bare repository over file://.
  const work = makeRepo({ 'greet/index.ts': greet('hello'), 'README.md': 'modules\n' });
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '-qm', 'v1');
  git(work, 'tag', 'v1');
  writeFiles(work, { 'greet/index.ts': greet('bonjour') });
  git(work, 'commit', '-qam', 'v2');
  git(work, 'tag', 'v2');
  bare = `${work}.git`;
  git(path.dirname(work), 'clone', '-q', '--bare', work, bare);
});

function pipeline(ref: string): string {
  return `import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'greetings',
  description: 'Greets every Terraform component',
  mutates: false,
  stages: [{ name: 'greet', module: useModule('git::file://${bare}//greet?ref=${ref}'), appliesTo: (c) => c.type === 'terraform' }],
});
`;
}

function userRepo(ref: string): string {
  return makeRepo(
    baseRepo({
      'pipelines/greetings.ts': pipeline(ref),
      'deployments/shop.yaml': ['deployment:', '  name: shop', '  stacks: [catalog/app]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
    }),
  );
}

interface Event {
  type: string;
  id?: string;
  status?: string;
}

function run(repo: string, env: Record<string, string>): { code: number; stderr: string; events: Event[] } {
  const r = runCli(['run', 'greetings', 'shop', '--target', 'dev', '--events', 'ndjson'], { cwd: repo, env });
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
  return { code: r.code, stderr: r.stderr, events };
}

const greetStatus = (events: Event[]) => events.find((e) => e.type === 'step.finished' && e.id === 'greetings:terraform/app:greet')?.status;

describe('remote modules', () => {
  it('CI refuses an unpinned remote module; a workstation pins it on first use; then CI runs it', () => {
    const repo = userRepo('v1');
    const refused = runCli(['modules'], { cwd: repo, env: { CI: 'true' } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`module git::file://${bare}//greet?ref=v1 is not pinned in modules.lock.yaml`);
    expect(refused.stderr).toContain('pipelines/greetings.ts:');
    expect(refused.stderr).toContain('run `atmos-pipe modules` on a workstation');
    expect(readdirSync(repo)).not.toContain('modules.lock.yaml');

    const listed = runCli(['modules', '--format', 'json'], { cwd: repo, env: { CI: '' } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toContain('pinned at sha256:');
    const lock = readFileSync(path.join(repo, 'modules.lock.yaml'), 'utf8');
    expect(lock).toContain(`git::file://${bare}//greet?ref=v1`);
    expect(lock).toMatch(/digest: sha256:[0-9a-f]{64}/);
    expect(lock).toMatch(/commit: [0-9a-f]{40}/);
    const mod = (JSON.parse(listed.stdout) as { modules: { uses: string; name: string; origin: { kind: string; commit?: string } }[] }).modules.find((m) => m.name === 'greet');
    expect(mod).toMatchObject({ uses: `git::file://${bare}//greet?ref=v1`, origin: { kind: 'vendored' } });
    expect(mod?.origin.commit).toBe(git(bare, 'rev-parse', 'v1'));

    const first = run(repo, { CI: 'true' });
    expect(first.code, first.stderr).toBe(0);
    expect(greetStatus(first.events)).toBe('done');
    expect(greetStatus(run(repo, { CI: 'true' }).events)).toBe('cached');
  });

  it('a modified stored copy is evicted and fetched again at the pinned commit; the modified code never runs', () => {
    const repo = userRepo('v1');
    expect(run(repo, { CI: '' }).code).toBe(0);
    const objects = path.join(repo, '.atmos/cache/vendor/objects/sha256');
    const [object] = readdirSync(objects);
    // The object is the module's directory (the source's //greet), read-only.
    const target = path.join(objects, object, 'index.ts');
    chmodSync(target, 0o644);
    writeFileSync(target, greet('tampered'));
    const again = run(repo, { CI: 'true' });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/the stored copy of sha256:[0-9a-f]{12} was modified \(index\.ts modified\); evicted, fetching it again/);
    // The pinned content again: the same fingerprint as before, so a cache hit.
    expect(greetStatus(again.events)).toBe('cached');
    expect(readFileSync(target, 'utf8')).toContain('echo hello');
  });

  it('a new ref pins the new content and re-runs the steps; a source that no longer gives the pinned content is refused', () => {
    const repo = userRepo('v1');
    expect(greetStatus(run(repo, { CI: '' }).events)).toBe('done');
    writeFiles(repo, { 'pipelines/greetings.ts': pipeline('v2') });
    const v2 = run(repo, { CI: '' });
    expect(v2.code, v2.stderr).toBe(0);
    expect(greetStatus(v2.events)).toBe('done');
    expect(readFileSync(path.join(repo, 'modules.lock.yaml'), 'utf8')).toContain('greet?ref=v2');

    // The lock says other content than the source gives (and the store does not hold it).
    const lockFile = path.join(repo, 'modules.lock.yaml');
    const lock = readFileSync(lockFile, 'utf8');
    const v2Digest = /greet\?ref=v2[\s\S]*?digest: (sha256:[0-9a-f]{64})/.exec(lock)![1];
    writeFileSync(lockFile, lock.replace(v2Digest, `sha256:${'0'.repeat(64)}`));
    const refused = run(repo, { CI: 'true' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is pinned to sha256:000000000000 in modules.lock.yaml, but its source now gives');
  });
});

describe('remote modules in step hooks', () => {
  /** `app` with an after_apply hook whose `uses:` is the module's source. */
  function hookedRepo(): string {
    const repo = makeRepo(
      baseRepo({
        'deployments/shop.yaml': [
          'deployment:',
          '  name: shop',
          '  stacks: [catalog/app]',
          '  components:',
          '    terraform:',
          '      app:',
          '        steps:',
          '          after_apply:',
          `            - uses: git::file://${bare}//greet?ref=v1`,
          '  targets:',
          '    dev: {}',
          '',
        ].join('\n'),
      }),
    );
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'initial');
    return repo;
  }

  it('CI refuses the unpinned hook module, located at its uses:; modules pins it; then CI validates and rolls out with it', () => {
    const repo = hookedRepo();
    const refused = runCli(['validate', 'shop'], { cwd: repo, env: { CI: 'true' } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`module git::file://${bare}//greet?ref=v1 is not pinned in modules.lock.yaml`);
    expect(refused.stderr).toMatch(/deployments\/shop\.yaml:9:21/);
    expect(readdirSync(repo)).not.toContain('modules.lock.yaml');

    const listed = runCli(['modules', '--format', 'json'], { cwd: repo, env: { CI: '' } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(readFileSync(path.join(repo, 'modules.lock.yaml'), 'utf8')).toContain(`git::file://${bare}//greet?ref=v1`);
    const mod = (JSON.parse(listed.stdout) as { modules: { uses: string; name: string; origin: { kind: string } }[] }).modules.find((m) => m.name === 'greet');
    expect(mod).toMatchObject({ uses: `git::file://${bare}//greet?ref=v1`, origin: { kind: 'vendored' } });

    const valid = runCli(['validate', 'shop'], { cwd: repo, env: { CI: 'true' } });
    expect(valid.code, valid.stderr).toBe(0);
    const rolled = runCli(['rollout', 'shop', '--target', 'dev', '--allow-dirty', '--events', 'ndjson'], { cwd: repo, env: { ...GIT_ENV, CI: 'true', ATMOS_PIPE_USER: 'dev@example.com' } });
    expect(rolled.code, rolled.stderr).toBe(0);
    const hook = rolled.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event)
      .find((e) => e.type === 'step.finished' && e.id?.includes('after_apply'));
    expect(hook).toMatchObject({ status: 'done' });
  });
});
