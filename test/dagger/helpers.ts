/**
 * The semantic Dagger stub (dagger-stub/dagger.mjs) as tests use it: as the `dagger` CLI that
 * atmos-pipe starts itself (_EXPERIMENTAL_DAGGER_CLI_BIN), or as a session the test starts and
 * hands over (DAGGER_SESSION_PORT / DAGGER_SESSION_TOKEN), and its log.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildSchema, parse, validate } from 'graphql';
import { ROOT, makeRepo } from '../helpers.js';

export const STUB = path.join(ROOT, 'test/dagger/dagger-stub/dagger.mjs');
const SCHEMA = path.join(ROOT, 'test/dagger/dagger-stub/schema.graphqls');

export interface StubRecord {
  event: string;
  time: number;
  query?: string;
  valid?: boolean;
  error?: string;
  argv?: string[];
  image?: string;
  env?: Record<string, string>;
  start?: number;
  end?: number;
  exitCode?: number;
  cancelled?: boolean;
  path?: string;
  wipe?: boolean;
}

/** A fresh log and state directory for one stub; `env` makes atmos-pipe start it itself. */
export function stubFiles(): { log: string; env: Record<string, string> } {
  const dir = makeRepo({}); // a temp dir removed after the test file
  const log = path.join(dir, 'stub.ndjson');
  return { log, env: { _EXPERIMENTAL_DAGGER_CLI_BIN: STUB, DAGGER_STUB_LOG: log, DAGGER_STUB_STATE: path.join(dir, 'state') } };
}

export function readStubLog(log: string): StubRecord[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StubRecord);
}

/** Every query in the log, re-validated here against the schema of the SDK's version: the error of each invalid one. */
export function invalidQueries(records: StubRecord[]): string[] {
  const schema = buildSchema(readFileSync(SCHEMA, 'utf8'));
  const out: string[] = [];
  for (const r of records) {
    if (r.event !== 'query' || !r.query) continue;
    const errors = validate(schema, parse(r.query));
    if (errors.length) out.push(`${errors[0]!.message} in ${r.query.slice(0, 200)}`);
  }
  return out;
}

export const execs = (records: StubRecord[]) => records.filter((r) => r.event === 'exec');

/** A `dagger session` the test owns, as `dagger run` would start it for atmos-pipe. */
export async function startSession(files: { log: string; env: Record<string, string> }): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [STUB, 'session'], {
    env: { ...process.env, DAGGER_STUB_LOG: files.log, DAGGER_STUB_STATE: files.env.DAGGER_STUB_STATE },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`stub session exited ${code}`)));
  });
  const p = JSON.parse(line) as { port: number; session_token: string };
  const closed = new Promise((r) => child.once('close', r));
  return {
    env: { DAGGER_SESSION_PORT: String(p.port), DAGGER_SESSION_TOKEN: p.session_token, DAGGER_STUB_LOG: files.log },
    stop: async () => {
      child.stdin.end();
      await closed;
    },
  };
}
