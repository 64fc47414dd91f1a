/**
 * Where a step's facts come from (SPEC 4.1: "terraform apply steps include the digest of the
 * state they start from"): the value of a fact is the sha256 of what a {@link FactSource}
 * holds, or `none` when it holds nothing. A module reads it when it makes the step (the
 * `facts` of the fingerprint); the scheduler reads the same source again after the step
 * succeeded (`refreshFacts`), so a re-run from what the step left is a cache hit.
 *
 * - A file on the runner (local Terraform state): its bytes.
 * - A row of a PostgreSQL database (Terraform's `pg` backend keeps each workspace's state in
 *   one row): the text of the first column of the first row the query returns. The state
 *   lives outside the runner, so two runners (two clones at different paths, two CI jobs) read
 *   the same value while the shared state is unchanged, and a state another runner changed
 *   changes it. The connection string is a secret of the step (named, never held here): it is
 *   never part of a step, a fingerprint, a log or an error.
 *
 * The query only reads (a read-only transaction), takes no lock and waits for none: Terraform's
 * `pg` lock is an advisory lock, which never blocks a reader.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Pool } from 'pg';
import { sha256 } from './fingerprint.js';
import type { FactSource, PostgresFact } from './types.js';

/** A PostgreSQL identifier quoted (as lib/pq's `QuoteIdentifier`, which Terraform's `pg` backend uses for its schema). */
export function pgIdentifier(name: string): string {
  return `"${name.replace(/\0/g, '').replace(/"/g, '""')}"`;
}

/** Seconds before a connection attempt or a query gives up: a fact never hangs a run. */
const TIMEOUT_MS = 15_000;

const pools = new Map<string, Promise<Pool>>();

/**
 * One small pool per connection string for the whole process (a run reads the state of every
 * component of a deployment, usually from one database). Idle connections never keep the
 * process alive.
 */
function poolFor(conn: string): Promise<Pool> {
  let p = pools.get(conn);
  if (!p) {
    p = import('pg').then(({ default: pg }) => {
      const pool = new pg.Pool({ connectionString: conn, max: 4, idleTimeoutMillis: 1_000, allowExitOnIdle: true, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS });
      // An idle client's error (the server went away) must not crash the run: the next query reports it.
      pool.on('error', () => {
        // ignored here
      });
      return pool;
    });
    pools.set(conn, p);
  }
  return p;
}

/** The value the query returns: sha256 of its first column's text or bytes; `none` without a row or for NULL. */
async function postgresFact(f: PostgresFact, secretValue: (name: string) => string | undefined): Promise<string> {
  const conn = secretValue(f.connection);
  if (!conn) throw new Error(`the connection string ${f.connection} is not set (declare it as a secret, or set the backend's conn_str)`);
  const pool = await poolFor(conn);
  let client: import('pg').PoolClient | undefined;
  try {
    client = await pool.connect();
    await client.query('BEGIN READ ONLY');
    try {
      const r = await client.query({ text: f.query, values: f.params ?? [], rowMode: 'array' });
      const v = (r.rows[0] as unknown[] | undefined)?.[0];
      if (v === undefined || v === null) return 'none';
      return sha256(Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  } catch (e) {
    // A missing schema or table is a state nobody wrote yet (Terraform's init creates them).
    const code = (e as { code?: string }).code;
    if (code === '3F000' || code === '42P01') return 'none';
    // pg's messages name the host, port, user or database at most, never the password; the
    // connection string itself is never part of the message.
    throw new Error(`could not read a fact from PostgreSQL: ${(e as Error).message}`);
  } finally {
    client?.release();
  }
}

/** The value of a fact: sha256 of what the source holds, or `none`. */
export async function readFact(source: FactSource, secretValue: (name: string) => string | undefined): Promise<string> {
  if (typeof source === 'string') return fileFact(source);
  return postgresFact(source.postgres, secretValue);
}

/** A file's fact, synchronously: sha256 of its bytes, or `none` when it does not exist. */
export function fileFact(file: string): string {
  return existsSync(file) ? sha256(readFileSync(file)) : 'none';
}

/**
 * The first column of the first row a read-only query returns, as text (null without a row),
 * read synchronously for code that cannot wait (resolving a configuration reads another
 * component's `pg` state: src/resolve/foreign-state.ts). A short Node process runs the query;
 * the connection string reaches it on stdin, never in its argv or environment.
 */
export function postgresRowSync(conn: string, query: string, params: string[]): string | null {
  const pg = createRequire(import.meta.url).resolve('pg');
  const script = `
const { Client } = require(${JSON.stringify(pg)});
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const { conn, query, params } = JSON.parse(input);
  const c = new Client({ connectionString: conn, connectionTimeoutMillis: ${TIMEOUT_MS}, query_timeout: ${TIMEOUT_MS} });
  try {
    await c.connect();
    await c.query('BEGIN READ ONLY');
    const r = await c.query({ text: query, values: params, rowMode: 'array' });
    const v = r.rows[0]?.[0];
    process.stdout.write(JSON.stringify({ value: v === undefined || v === null ? null : String(v) }));
  } catch (e) {
    const missing = e.code === '3F000' || e.code === '42P01';
    process.stdout.write(JSON.stringify(missing ? { value: null } : { error: e.message }));
  } finally {
    await c.end().catch(() => undefined);
  }
});`;
  const out = execFileSync(process.execPath, ['-e', script], { input: JSON.stringify({ conn, query, params }), encoding: 'utf8', timeout: 2 * TIMEOUT_MS + 5_000, stdio: ['pipe', 'pipe', 'pipe'] });
  const r = JSON.parse(out) as { value: string | null } | { error: string };
  if ('error' in r) throw new Error(`could not read from PostgreSQL: ${r.error}`);
  return r.value;
}
