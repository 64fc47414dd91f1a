/**
 * A throwaway PostgreSQL for tests and benchmarks (Terraform's `pg` backend): Debian's server
 * binaries (`/usr/lib/postgresql/<version>/bin`), a fresh cluster in a temp dir, listening on
 * 127.0.0.1 on a free port only (no Unix socket outside its own dir), password authentication
 * over TCP, stopped and removed by stop(). It never touches a system cluster (Debian's package
 * may start one on 5432; nothing here depends on it).
 *
 * PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user
 * (created by Debian's package) and every server command runs through `runuser`; as any other
 * user it runs as that user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const VERSIONS_DIR = '/usr/lib/postgresql';
const SERVER_USER = 'postgres';

/** The bin dir of the newest installed server, or undefined. */
export function postgresBin(): string | undefined {
  if (!existsSync(VERSIONS_DIR)) return undefined;
  const versions = readdirSync(VERSIONS_DIR)
    .filter((v) => existsSync(path.join(VERSIONS_DIR, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(VERSIONS_DIR, versions[0], 'bin') : undefined;
}

export interface RunningPostgres {
  /** `postgres://<user>:<password>@127.0.0.1:<port>/<database>?sslmode=disable` */
  url: string;
  user: string;
  password: string;
  port: number;
  database: string;
  /** Temp dir holding the cluster. */
  dir: string;
  /** A connection string for another database of this server (created with createDatabase). */
  urlOf(database: string): string;
  /** Create another database (name: letters, digits, _). */
  createDatabase(name: string): void;
  /** Run one SQL statement with psql against the database; its unaligned output. */
  sql(statement: string, database?: string): string;
  stop(): void;
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (!addr || typeof addr === 'string') return reject(new Error('no port'));
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

/** uid and gid of the server user when we are root; undefined otherwise (we run it ourselves). */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', SERVER_USER], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', SERVER_USER], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error(`running as root, PostgreSQL needs the "${SERVER_USER}" system user (apt-get install postgresql creates it)`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Start a fresh cluster with one database (default `terraform`); throws when the binaries are missing. */
export async function startPostgres(opts: { database?: string } = {}): Promise<RunningPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error(`PostgreSQL server binaries not found under ${VERSIONS_DIR} (apt-get install postgresql)`);
  const owner = serverOwner();
  const asServer = (cmd: string, args: string[]) => (owner ? { file: 'runuser', argv: ['-u', SERVER_USER, '--', path.join(bin, cmd), ...args] } : { file: path.join(bin, cmd), argv: args });
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = asServer(cmd, args);
    return execFileSync(c.file, c.argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd: dir });
  };

  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-pg-'));
  const data = path.join(dir, 'data');
  const user = 'atmos';
  const password = randomBytes(12).toString('hex');
  const database = opts.database ?? 'terraform';
  const port = await freePort();
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const stop = () => {
    const c = asServer('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    if (existsSync(path.join(data, 'postmaster.pid'))) spawnSync(c.file, c.argv, { stdio: 'ignore', cwd: dir });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--locale=C']);
    appendFileSync(
      path.join(data, 'postgresql.conf'),
      [`port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 200', ''].join(
        '\n',
      ),
    );
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    stop();
    throw new Error(`could not start PostgreSQL: ${err.stderr || err.message}`);
  }
  const sql = (statement: string, db = database) => run('psql', ['-h', dir, '-p', String(port), '-U', user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtX', '-c', statement]).trim();
  const createDatabase = (name: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    sql(`CREATE DATABASE "${name}"`, 'postgres');
  };
  createDatabase(database);
  const urlOf = (db: string) => `postgres://${user}:${password}@127.0.0.1:${port}/${db}?sslmode=disable`;
  return { url: urlOf(database), user, password, port, database, dir, urlOf, createDatabase, sql, stop };
}
