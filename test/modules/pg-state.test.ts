/**
 * Terraform state in PostgreSQL (Terraform's `pg` backend), for real: a throwaway server on
 * 127.0.0.1 (bench/postgres.ts), the real CLI as separate processes, two clones at different
 * paths acting as two CI runners (SPEC 4.1: "terraform apply steps include the digest of the
 * state they start from"; issue 19: "state that outlives a runner").
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type RunningPostgres } from '../../bench/postgres.js';
import { git, makeRepo, runCli } from '../helpers.js';
import { runFinished, startCli, type Ev, type Finished } from '../reliability/fixture.js';

let pg: RunningPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

const MODULE_TF = `variable "name" { type = string }
variable "release" {
  type    = string
  default = ""
}
resource "terraform_data" "this" {
  input = var.name
  provisioner "local-exec" {
    # Holds the apply (and Terraform's state lock) until the file exists, when a test asks.
    command = "if [ -n '\${var.release}' ]; then while [ ! -e '\${var.release}' ]; do sleep 0.1; done; fi"
  }
}
output "name" { value = terraform_data.this.output }
`;

const ATMOS_YAML = ['components:', '  terraform:', '    base_path: components/terraform', 'stacks:', '  base_path: stacks', ''].join('\n');

/** Deployment `shop` (stack `s`, target `dev`) of these Terraform components, PG_CONN_STR a secret. */
const shopDeployment = (names: string[]) =>
  ['deployment:', '  name: shop', '  stacks: [s]', '  secrets: [PG_CONN_STR]', '  components:', '    terraform:', ...names.map((n) => `      ${n}: {}`), '  targets:', '    dev: {}', ''].join('\n');

/** Components of module `node` in stack `s`, each in its pg schema (name -> schema), deployed by `shop`. */
function schemaRepo(schemas: Record<string, string>): string {
  const names = Object.keys(schemas);
  return makeRepo({
    'atmos.yaml': ATMOS_YAML,
    'stacks/s.yaml': [
      'terraform:',
      '  backend_type: pg',
      'components:',
      '  terraform:',
      ...names.map((n) => `    ${n}: { metadata: { component: node }, backend: { pg: { schema_name: ${JSON.stringify(schemas[n])} } }, vars: { name: ${n} } }`),
      '',
    ].join('\n'),
    'components/terraform/node/main.tf': MODULE_TF,
    'deployments/shop.yaml': shopDeployment(names),
  });
}

/** A repository of two components whose state is in PostgreSQL (one schema each). */
function pgRepo(opts: { db: string; connInStack?: string; secrets?: string; netName?: string; release?: string }): string {
  const backend = opts.connInStack ? `      conn_str: "${opts.connInStack}"\n` : '';
  const dir = makeRepo({
    'atmos.yaml': ATMOS_YAML,
    'stacks/catalog/pg.yaml': [
      'terraform:',
      '  backend_type: pg',
      '  backend:',
      '    pg:',
      backend.trimEnd(),
      'components:',
      '  terraform:',
      '    net:',
      '      metadata: { component: node }',
      '      backend: { pg: { schema_name: net } }',
      `      vars: { name: ${opts.netName ?? 'net-1'}${opts.release ? `, release: "${opts.release}"` : ''} }`,
      '    app:',
      '      metadata: { component: node }',
      '      backend: { pg: { schema_name: app } }',
      '      vars: { name: app }',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
    'components/terraform/node/main.tf': MODULE_TF,
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  stacks: [catalog/pg]',
      ...(opts.secrets !== undefined ? [opts.secrets] : ['  secrets: [PG_CONN_STR]']),
      '  components:',
      '    terraform:',
      '      net: {}',
      '      app: {}',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

const rollout = (dir: string, env: Record<string, string>, extra: string[] = []) => startCli(['--chdir', dir, 'rollout', 'shop', '--target', 'dev', '--events', 'ndjson', ...extra], { env }).exited;
const statusOf = (events: Ev[]) => Object.fromEntries(events.filter((e): e is Finished => e.type === 'step.finished').map((e) => [e.id, e.status]));

/** Every file under dir whose bytes contain the text. */
function filesContaining(dir: string, text: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(text)) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

describe('Terraform state in PostgreSQL (pg backend)', () => {
  it('a second runner at another path with the cache copied over re-runs nothing; a state another runner changed re-runs the apply', async () => {
    pg.createDatabase('runners');
    const env = { PG_CONN_STR: pg.urlOf('runners') };
    const a = pgRepo({ db: 'runners' });
    const first = await rollout(a, env);
    expect(
      first.code,
      first.stderr +
        first.stdout
          .split('\n')
          .filter((l) => l.includes('rror'))
          .join('\n'),
    ).toBe(0);
    expect(runFinished(first.events)?.counts).toEqual({ done: 6, cached: 0, failed: 0, skipped: 0 });
    // The state is in PostgreSQL, one row per component, and nowhere on the runner's disk.
    // One row named after the component's Atmos workspace (`<stack>-<component>` with metadata.component).
    expect(pg.sql(`SELECT name FROM net.states`, 'runners')).toBe('catalog-pg-net');
    expect(JSON.parse(pg.sql(`SELECT data FROM app.states`, 'runners')).outputs.name.value).toBe('app');
    expect(existsSync(path.join(a, '.atmos', 'state'))).toBe(false);

    // Runner B: a clone elsewhere, with A's cache (as a restored CI cache would bring it).
    const b = `${a}-runner-b`;
    git(path.dirname(a), 'clone', '-q', a, b);
    cpSync(path.join(a, '.atmos', 'cache'), path.join(b, '.atmos', 'cache'), { recursive: true });
    const second = await rollout(b, env);
    expect(second.code, second.stderr).toBe(0);
    expect(runFinished(second.events)?.counts).toEqual({ done: 0, cached: 6, failed: 0, skipped: 0 });

    // Runner A applies a change of net: the shared state moves.
    const changed = pgRepoEdit(a, 'net-1', 'net-2');
    expect(changed).toBe(true);
    const third = await rollout(a, env);
    expect(third.code, third.stderr).toBe(0);
    expect(statusOf(third.events)['rollout:terraform/net:apply']).toBe('done');
    expect(JSON.parse(pg.sql(`SELECT data FROM net.states`, 'runners')).outputs.name.value).toBe('net-2');

    // Runner B (still at net-1) starts from another state now: its apply of net runs again
    // (and puts net-1 back); app's state did not move: all cache hits.
    const fourth = await rollout(b, env);
    expect(fourth.code, fourth.stderr).toBe(0);
    const s = statusOf(fourth.events);
    expect(s['rollout:terraform/net:apply']).toBe('done');
    expect(s['rollout:terraform/app:apply']).toBe('cached');
    expect(JSON.parse(pg.sql(`SELECT data FROM net.states`, 'runners')).outputs.name.value).toBe('net-1');

    // And again from B: everything converged.
    const fifth = await rollout(b, env);
    expect(runFinished(fifth.events)?.counts).toEqual({ done: 0, cached: 6, failed: 0, skipped: 0 });
  }, 240_000);

  it('a first rollout of many components against a fresh database succeeds (concurrent inits create the same tables)', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `c${i}`);
    for (let round = 0; round < 3; round++) {
      const db = `fresh${round}`;
      pg.createDatabase(db);
      const dir = schemaRepo(Object.fromEntries(names.map((n) => [n, n])));
      const r = await rollout(dir, { PG_CONN_STR: pg.urlOf(db) }, ['--parallelism', String(names.length)]);
      expect(
        r.code,
        r.stdout
          .split('\n')
          .filter((l) => /rror|transient/.test(l))
          .join('\n'),
      ).toBe(0);
      expect(Number(pg.sql(`SELECT count(*) FROM c7.states`, db))).toBe(1);
    }
  }, 300_000);

  it('!terraform.output of a component of another deployment reads its pg state', async () => {
    pg.createDatabase('foreignstate');
    const env = { PG_CONN_STR: pg.urlOf('foreignstate') };
    const dir = pgRepo({ db: 'foreignstate' });
    writeFileSync(
      path.join(dir, 'stacks/edge.yaml'),
      ['components:', '  terraform:', '    edge:', '      metadata: { component: node }', '      vars:', '        name: !terraform.output net catalog/pg name', ''].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'deployments/edge.yaml'),
      ['deployment:', '  name: edge', '  stacks: [edge]', '  components:', '    terraform:', '      edge: {}', '  targets:', '    dev: {}', ''].join('\n'),
    );
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'edge');
    // Not applied yet: a located error naming the pg state.
    const early = runCli(['--chdir', dir, 'rollout', 'edge', '--target', 'dev'], { env });
    expect(early.code, early.stderr).toBe(2);
    expect(early.stderr).toContain('net.states');
    expect(early.stdout + early.stderr).not.toContain(pg.password);
    expect((await rollout(dir, env)).code).toBe(0);
    const r = runCli(['--chdir', dir, 'rollout', 'edge', '--target', 'dev'], { env });
    expect(r.code, r.stderr).toBe(0);
    const state = JSON.parse(readFileSync(path.join(dir, '.atmos/state/edge/dev/edge.tfstate'), 'utf8'));
    expect(state.outputs.name.value).toBe('net-1');
  }, 240_000);

  it('a conn_str with a password in the stacks never reaches the cache, the run records, Git or the output', async () => {
    pg.createDatabase('secretconn');
    const url = pg.urlOf('secretconn');
    const a = pgRepo({ db: 'secretconn', connInStack: url, secrets: '' });
    const r = await rollout(a, {});
    expect(r.code, r.stderr).toBe(0);
    expect(runFinished(r.events)?.counts).toEqual({ done: 6, cached: 0, failed: 0, skipped: 0 });
    for (const text of [pg.password, url]) {
      expect(filesContaining(path.join(a, '.atmos'), text)).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(text);
    }
    // Git: the run's records (refs, notes) hold neither.
    // The stacks file itself carries the password (the user put it there): no other blob does.
    const stacksBlob = git(a, 'rev-parse', 'HEAD:stacks/catalog/pg.yaml');
    const blobs = git(a, 'cat-file', '--batch-all-objects', '--batch-check')
      .split('\n')
      .map((l) => l.split(' '))
      .filter(([, type]) => type === 'blob')
      .map(([o]) => o);
    expect(blobs.length).toBeGreaterThan(3);
    expect(blobs.filter((o) => o !== stacksBlob && git(a, 'cat-file', '-p', o).includes(pg.password))).toEqual([]);
    // Unchanged: all cache hits (the connection is a secret whose HMAC is in the key, not its text).
    const again = await rollout(a, {});
    expect(runFinished(again.events)?.counts).toEqual({ done: 0, cached: 6, failed: 0, skipped: 0 });
  }, 240_000);

  it('a hostile schema_name (quotes, spaces, SQL) is one quoted identifier, as Terraform quotes it', async () => {
    pg.createDatabase('hostile');
    const env = { PG_CONN_STR: pg.urlOf('hostile') };
    const schema = `we"ird; DROP TABLE x --`;
    const dir = schemaRepo({ a: schema });
    const first = await rollout(dir, env);
    expect(first.code, first.stderr).toBe(0);
    expect(pg.sql(`SELECT count(*) FROM "we""ird; DROP TABLE x --".states`, 'hostile')).toBe('1');
    const again = await rollout(dir, env);
    expect(runFinished(again.events)?.counts).toEqual({ done: 0, cached: 3, failed: 0, skipped: 0 });
  }, 120_000);

  it('two components of one stack in one pg schema (one workspace) are refused: they would share a state (exit 2)', () => {
    const dir = makeRepo({
      'atmos.yaml': ATMOS_YAML,
      'stacks/s.yaml': ['terraform:', '  backend_type: pg', 'components:', '  terraform:', '    a: { vars: { name: a } }', '    b: { vars: { name: b } }', ''].join('\n'),
      'components/terraform/a/main.tf': MODULE_TF,
      'components/terraform/b/main.tf': MODULE_TF,
      'deployments/shop.yaml': shopDeployment(['a', 'b']),
    });
    const r = runCli(['--chdir', dir, 'validate', 'shop']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toContain('would share one Terraform state');
    expect(r.stdout + r.stderr).toContain('schema_name: b');
  });

  it('a pg backend without a connection, or with PG_CONN_STR as plain env, is refused before anything runs (exit 2)', () => {
    const none = pgRepo({ db: 'x', secrets: '' });
    const r1 = runCli(['--chdir', none, 'rollout', 'shop', '--target', 'dev']);
    expect(r1.code, r1.stderr).toBe(2);
    expect(r1.stderr).toContain('the pg backend has no connection string');
    expect(r1.stderr).toContain('secrets: [PG_CONN_STR]');

    const plain = pgRepo({ db: 'x', secrets: '  env: [PG_CONN_STR]' });
    const r2 = runCli(['--chdir', plain, 'rollout', 'shop', '--target', 'dev'], { env: { PG_CONN_STR: 'postgres://u:hunter2hunter2@127.0.0.1:1/x' } });
    expect(r2.code, r2.stderr).toBe(2);
    expect(r2.stderr).toContain('declared as plain env');
    expect(r2.stdout + r2.stderr).not.toContain('hunter2hunter2');
    expect(existsSync(path.join(plain, '.atmos', 'cache', 'actions'))).toBe(false);
  }, 60_000);
});

/** Poll until the query returns a count > 0 (Terraform holds its advisory lock on the state row). */
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('two runners applying the same target serialise on the pg lock', () => {
  /** Runner A (unsandboxed: its apply waits for a host file) holds net's state lock; runner B is a clone at another path. */
  async function holdingRunner(db: string) {
    pg.createDatabase(db);
    const env = { PG_CONN_STR: pg.urlOf(db) };
    const release = path.join(tmpdir(), `atmos-pipe-release-${db}-${process.pid}`);
    rmSync(release, { force: true });
    const a = pgRepo({ db, release });
    const b = `${a}-runner-b`;
    git(path.dirname(a), 'clone', '-q', a, b);
    const runA = startCli(['--chdir', a, 'rollout', 'shop', '--target', 'dev', '--events', 'ndjson', '--sandbox', 'off'], { env });
    const lockHeld = `SELECT count(*) FROM pg_locks l JOIN net.states s ON l.locktype = 'advisory' AND l.objid = s.id AND l.objsubid = 1 AND l.granted`;
    await runA.waitFor((e) => e.type === 'step.started' && e.id === 'rollout:terraform/net:apply', "A's apply of net");
    await until("A holds net's state lock", () => {
      try {
        return Number(pg.sql(lockHeld, db)) > 0;
      } catch {
        return false; // the table is being created
      }
    });
    const state = () => JSON.parse(pg.sql('SELECT data FROM net.states', db)) as { lineage: string; serial: number; resources: unknown[]; outputs: Record<string, { value: unknown }> };
    return { env, release, a, b, runA, state };
  }

  it('the second waits for the lock (--lock-timeout), then applies; both succeed and the state is whole', async () => {
    const { env, release, b, runA, state } = await holdingRunner('lockwait');
    const runB = startCli(['--chdir', b, 'rollout', 'shop', '--target', 'dev', '--events', 'ndjson', '--verbose', '--lock-timeout', '5m'], { env });
    // Terraform says so once it has waited for the lock (its slow-lock message).
    await runB.waitFor((e) => e.type === 'step.output' && e.id === 'rollout:terraform/net:apply' && e.line.includes('Acquiring state lock'), "B waiting for net's state lock");
    expect(runA.done).toBe(false);
    expect(runB.done).toBe(false);
    writeFileSync(release, '');
    const [ea, eb] = await Promise.all([runA.exited, runB.exited]);
    rmSync(release, { force: true });
    expect(ea.code, ea.stderr).toBe(0);
    expect(eb.code, eb.stderr).toBe(0);
    expect(statusOf(eb.events)['rollout:terraform/net:apply']).toBe('done');
    // One resource, the outputs as both applied them, one lineage: nothing was lost or doubled.
    const s = state();
    expect(s.resources).toHaveLength(1);
    expect(s.outputs.name.value).toBe('net-1');
    expect(Number(pg.sql('SELECT count(*) FROM net.states', 'lockwait'))).toBe(1);
  }, 240_000);

  it('with a short --lock-timeout the second exits 4 (lock held); the first finishes and the state is whole', async () => {
    const { env, release, b, runA, state } = await holdingRunner('lockshort');
    const eb = await startCli(['--chdir', b, 'rollout', 'shop', '--target', 'dev', '--events', 'ndjson', '--lock-timeout', '1s'], { env }).exited;
    expect(eb.code, eb.stderr).toBe(4);
    expect(eb.stderr).toContain('a lock is held by another process');
    expect(statusOf(eb.events)['rollout:terraform/net:apply']).toBe('failed');
    expect(runA.done).toBe(false);
    writeFileSync(release, '');
    const ea = await runA.exited;
    rmSync(release, { force: true });
    expect(ea.code, ea.stderr).toBe(0);
    const s = state();
    expect(s.resources).toHaveLength(1);
    expect(s.outputs.name.value).toBe('net-1');
  }, 240_000);
});

/** Replace a component var in the stacks file and commit it; whether it changed. */
function pgRepoEdit(dir: string, from: string, to: string): boolean {
  const file = path.join(dir, 'stacks/catalog/pg.yaml');
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) return false;
  writeFileSync(file, text.replace(from, to));
  git(dir, 'commit', '-qam', `${from} -> ${to}`);
  return true;
}
