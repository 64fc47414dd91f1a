#!/usr/bin/env node
/**
 * A stand-in for the `dagger` CLI and its engine, run as a separate process, close enough to
 * Dagger's behaviour that the Dagger engine's bugs show in end-to-end tests:
 *
 * - `dagger version` prints what the real CLI prints (version from DAGGER_STUB_VERSION, default
 *   the SDK's, v0.21.9).
 * - `dagger session` speaks the session protocol the SDK uses: one JSON line
 *   `{"port":…,"session_token":…}` on stdout, the session's GraphQL API on 127.0.0.1:port/query
 *   (HTTP basic auth, the token as user), shutdown when stdin closes (running execs are killed).
 * - Every query is parsed and validated against the schema of Dagger v0.21.9 (schema.graphqls
 *   beside this file); an invalid one is answered as Dagger does, with a GraphQL error.
 * - Objects are immutable values addressed by IDs; nothing runs until a leaf (exitCode, stdout,
 *   export…) is asked for, and an exec's result is memoised by its container's ID.
 * - `host.directory` snapshots the host directory when it is loaded; `Directory.export` merges
 *   (default) or wipes; `Directory.diff` keeps only what changed; cache volumes persist across
 *   execs in the stub's state directory; `sharing: LOCKED` holds an engine-wide lock for the whole
 *   exec, PRIVATE gives a concurrent user its own fresh instance, SHARED shares.
 * - `withExec` runs its argv on the host inside bubblewrap: the host's root read-only, the
 *   container's mounts bound at their container paths (copies: a mounted directory is the
 *   container's own copy), /tmp and /root private. The image is not pulled: its reference is
 *   recorded. Failures are EXEC_ERRORs with exitCode, stdout and stderr; with `expect: ANY`
 *   a non-zero exit is a result, except 128-191 (a signal).
 * - A request whose client goes away cancels its exec (the process group is killed).
 * - For the Dagger module (.dagger/): `withDirectory` is a copy at its container path,
 *   `Directory.filter` keeps what its patterns select, `Directory.changes` is a Changeset value,
 *   `secret(uri: "env://NAME")` reads the session's environment, and the type definitions a
 *   module registers (Module, TypeDef, Function…) are values whose IDs record every call. An
 *   exec with `experimentalPrivilegedNesting` (a nested session) is refused as not modelled.
 *
 * Every exec and every query is appended to DAGGER_STUB_LOG (NDJSON) when set, for tests to
 * measure overlap, see what was cancelled and re-validate the queries.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLError, buildSchema, execute, getNamedType, parse, validate } from 'graphql';
import picomatch from 'picomatch';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VERSION = process.env.DAGGER_STUB_VERSION ?? 'v0.21.9';
const LOG = process.env.DAGGER_STUB_LOG;

function log(rec) {
  if (LOG) appendFileSync(LOG, `${JSON.stringify({ time: Date.now(), ...rec })}\n`);
}

const [cmd] = process.argv.slice(2);
if (cmd === 'version') {
  process.stdout.write(`dagger ${VERSION} (registry.dagger.io/engine:${VERSION}) linux/amd64\n`);
  process.exit(0);
}
if (cmd !== 'session') {
  process.stderr.write(`dagger stub: unsupported command ${JSON.stringify(process.argv.slice(2))}\n`);
  process.exit(1);
}

const schema = buildSchema(readFileSync(path.join(HERE, 'schema.graphqls'), 'utf8'));
const state = process.env.DAGGER_STUB_STATE ?? mkdtempSync(path.join(tmpdir(), 'dagger-stub-'));
const scratch = mkdtempSync(path.join(tmpdir(), 'dagger-stub-run-'));
const token = randomBytes(16).toString('hex');

// ---------------------------------------------------------------------------------------------
// Values and IDs.

const encodeId = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
function decodeId(id, type) {
  let v;
  try {
    v = JSON.parse(Buffer.from(String(id), 'base64url').toString('utf8'));
  } catch {
    throw new GraphQLError(`invalid ID ${String(id).slice(0, 40)}`);
  }
  if (type && v.__t !== type) throw new GraphQLError(`expected ${type} ID, got ${v.__t}`);
  return v;
}

let seq = 0;
const fresh = (what) => mkdtempSync(path.join(scratch, `${what}-${seq++}-`));

function copyTree(from, to, exclude = []) {
  mkdirSync(to, { recursive: true });
  if (!existsSync(from)) return;
  if (exclude.length === 0) {
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, force: true });
    return;
  }
  const drop = picomatch(exclude, { dot: true });
  const walk = (rel) => {
    for (const e of readdirSync(path.join(from, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (drop(r)) continue;
      if (e.isDirectory()) {
        mkdirSync(path.join(to, r), { recursive: true });
        walk(r);
      } else cpSync(path.join(from, r), path.join(to, r), { verbatimSymlinks: true, force: true });
    }
  };
  walk('');
}

// ---------------------------------------------------------------------------------------------
// Cache volumes: LOCKED is one engine-wide lock per volume held for the exec; PRIVATE gives a
// concurrent user a fresh instance.

const lockQueues = new Map();
const inUse = new Set();
async function lockVolume(key) {
  const prev = lockQueues.get(key) ?? Promise.resolve();
  let release;
  const mine = new Promise((r) => (release = r));
  lockQueues.set(
    key,
    prev.then(() => mine),
  );
  await prev;
  return release;
}

async function cacheMount(m) {
  const dir = path.join(state, 'cache', m.key.replace(/[^A-Za-z0-9._-]/g, '_'));
  mkdirSync(dir, { recursive: true });
  if (m.sharing === 'LOCKED') return { dir, release: await lockVolume(m.key) };
  if (m.sharing === 'PRIVATE') {
    if (inUse.has(m.key)) return { dir: fresh('private-cache'), release: () => undefined };
    inUse.add(m.key);
    return { dir, release: () => inUse.delete(m.key) };
  }
  return { dir, release: () => undefined };
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

const results = new Map();

/** A directory value as a host directory (a fresh copy the caller may change). */
async function materialize(d, signal) {
  if (d.kind === 'snapshot') {
    const out = fresh('dir');
    copyTree(d.dir, out);
    return out;
  }
  if (d.kind === 'container') {
    const r = await evalContainer(d.container, signal);
    const at = r.pathOf(d.path);
    if (!existsSync(at) || !lstatSync(at).isDirectory()) throw new GraphQLError(`${d.path}: not a directory`);
    const out = fresh('dir');
    copyTree(at, out);
    return out;
  }
  if (d.kind === 'filter') {
    // Directory.filter: the files matching an include pattern (all without one) and no exclude pattern.
    const out = await materialize(d.dir, signal);
    const keep = d.include.length ? picomatch(d.include, { dot: true }) : () => true;
    const drop = picomatch(d.exclude, { dot: true });
    for (const f of listFiles(out)) if (!keep(f) || drop(f)) rmSync(path.join(out, f));
    return out;
  }
  if (d.kind === 'diff') {
    const lower = await materialize(d.lower, signal);
    const upper = await materialize(d.upper, signal);
    removeUnchanged(lower, upper);
    return upper;
  }
  throw new GraphQLError(`dagger stub: cannot materialize directory ${d.kind}`);
}

/** Removes from `upper` every file identical in `lower` (what `Directory.diff` leaves out). */
function removeUnchanged(lower, upper, rel = '') {
  for (const n of readdirSync(path.join(upper, rel))) {
    const r = path.join(rel, n);
    const u = path.join(upper, r);
    const l = path.join(lower, r);
    const us = lstatSync(u);
    if (!existsSync(l) && !isLink(l)) continue;
    const ls = lstatSync(l);
    if (us.isDirectory() && ls.isDirectory()) {
      removeUnchanged(lower, upper, r);
      if (readdirSync(u).length === 0) rmSync(u, { recursive: true });
    } else if (us.isSymbolicLink() && ls.isSymbolicLink()) {
      if (readlinkSync(u) === readlinkSync(l)) rmSync(u);
    } else if (us.isFile() && ls.isFile() && us.mode === ls.mode && readFileSync(u).equals(readFileSync(l))) {
      rmSync(u);
    }
  }
}

function isLink(p) {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function evalContainer(c, signal) {
  const key = JSON.stringify(c);
  let p = results.get(key);
  if (!p) {
    p = runContainer(c, signal);
    results.set(key, p);
    p.catch(() => results.delete(key));
  }
  return p;
}

const running = new Set();

async function runContainer(c, signal) {
  const mounts = [];
  const releases = [];
  try {
    for (const m of c.mounts) {
      if (m.cache) {
        const { dir, release } = await cacheMount(m.cache);
        releases.push(release);
        mounts.push({ path: m.path, dir });
      } else if (m.file) {
        const copy = path.join(fresh('file'), path.basename(m.file.file));
        cpSync(m.file.file, copy);
        mounts.push({ path: m.path, dir: copy, readOnly: true });
      } else {
        mounts.push({ path: m.path, dir: await materialize(m.dir, signal), readOnly: m.readOnly });
      }
    }
    let last = { exitCode: 0, stdout: '', stderr: '', combined: '' };
    for (const x of c.execs) {
      if (x.nesting) throw new GraphQLError('dagger stub: an exec with experimentalPrivilegedNesting (a nested session) is not modelled');
      last = await runExec(c, x, mounts, signal);
    }
    const pathOf = (p) => {
      const m = [...mounts].sort((a, b) => b.path.length - a.path.length).find((m) => p === m.path || p.startsWith(`${m.path}/`));
      if (!m) throw new GraphQLError(`dagger stub: ${p} is not in a mount (the image's own files are not modelled)`);
      return path.join(m.dir, path.relative(m.path, p));
    };
    return { ...last, pathOf };
  } finally {
    for (const r of releases) r();
  }
}

function runExec(c, x, mounts, signal) {
  // The "image": the host's system directories read-only on an empty root, so the container's
  // own paths (/atmos-pipe/…) can be created and nothing of the host's /tmp or /root shows.
  const args = ['--die-with-parent', '--unshare-pid', '--new-session', '--tmpfs', '/'];
  for (const n of readdirSync('/')) {
    if (['proc', 'dev', 'tmp', 'root', 'sys', 'run', 'home', 'work'].includes(n)) continue;
    const p = `/${n}`;
    if (isLink(p)) args.push('--symlink', readlinkSync(p), p);
    else if (lstatSync(p).isDirectory()) args.push('--ro-bind', p, p);
  }
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--tmpfs', '/root');
  for (const m of [...mounts].sort((a, b) => a.path.length - b.path.length)) args.push(m.readOnly ? '--ro-bind' : '--bind', m.dir, m.path);
  const env = { PATH: process.env.PATH, HOME: '/root', ...c.env, ...c.secrets };
  args.push('--chdir', c.workdir ?? '/', '--clearenv');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  args.push('--', ...x.args);
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn('bwrap', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    log({ event: 'exec.started', argv: x.args, start });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let combined = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      combined += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      combined += d;
    });
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code, sig) => {
      running.delete(child);
      signal?.removeEventListener('abort', onAbort);
      const exitCode = code ?? 128 + 9;
      log({ event: 'exec', argv: x.args, image: c.image, env: c.env, start, end: Date.now(), exitCode, cancelled, signal: sig });
      if (cancelled) return reject(new GraphQLError('context canceled'));
      const failed = x.expect === 'ANY' ? exitCode >= 128 && exitCode <= 191 : x.expect === 'FAILURE' ? exitCode === 0 : exitCode !== 0;
      if (failed) {
        return reject(
          new GraphQLError(`process "${x.args.join(' ')}" did not complete successfully: exit code: ${exitCode}`, {
            extensions: { _type: 'EXEC_ERROR', cmd: x.args, exitCode, stdout, stderr },
          }),
        );
      }
      resolve({ exitCode, stdout, stderr, combined });
    });
  });
}

function listFiles(dir, rel = '') {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/** Writes directory `src` to the host at `to`: merged, or with `wipe` as an exact copy. */
function exportTo(src, to, wipe) {
  if (wipe) rmSync(to, { recursive: true, force: true });
  copyTree(src, to);
}

// ---------------------------------------------------------------------------------------------
// Field resolvers: `Type.field`. A field the stub does not model is an error, never a guess.

const container0 = { __t: 'Container', image: null, mounts: [], env: {}, secrets: {}, workdir: null, execs: [] };
const withC = (c, change) => ({ ...c, ...change });

const resolvers = {
  'Query.version': () => VERSION,
  'Query.host': () => ({ __t: 'Host' }),
  'Query.node': (_, a) => decodeId(a.id),
  'Query.container': () => container0,
  'Query.cacheVolume': (_, a) => ({ __t: 'CacheVolume', key: a.key }),
  'Query.setSecret': (_, a) => ({ __t: 'Secret', name: a.name, uri: `setSecret://${a.name}`, plaintext: a.plaintext }),
  // A secret by URI: only env:// (the session's environment) is modelled.
  'Query.secret': (_, a) => {
    const name = /^env:\/\/(.+)$/.exec(a.uri)?.[1];
    if (!name) throw new GraphQLError(`dagger stub: secret provider of ${a.uri} is not modelled`);
    if (process.env[name] === undefined) throw new GraphQLError(`secret env var not found: "${name}"`);
    return { __t: 'Secret', name: a.uri, uri: a.uri, plaintext: process.env[name] };
  },
  'Secret.uri': (s) => s.uri,
  'Secret.plaintext': (s) => s.plaintext,
  'Host.file': (_, a) => {
    if (!existsSync(a.path) || !lstatSync(a.path).isFile()) throw new GraphQLError(`${a.path}: not a file`);
    const file = path.join(fresh('snapshot'), path.basename(a.path));
    cpSync(a.path, file);
    return { __t: 'File', kind: 'snapshot', file };
  },
  'Host.directory': (_, a) => {
    // Snapshot on load: later changes on the host are not seen through this ID. Excluded
    // entries are never looked at (as Dagger's filesync skips them while it walks).
    const dir = fresh('snapshot');
    if (a.include?.length) throw new GraphQLError('dagger stub: host.directory include is not modelled');
    copyTree(a.path, dir, a.exclude ?? []);
    return { __t: 'Directory', kind: 'snapshot', dir, host: a.path };
  },
  'Container.from': (c, a) => withC(c, { image: a.address }),
  'Container.withMountedDirectory': (c, a) => withC(c, { mounts: [...c.mounts.filter((m) => m.path !== a.path), { path: a.path, dir: decodeId(a.source, 'Directory'), readOnly: !!a.readOnly }] }),
  'Container.withMountedCache': (c, a) =>
    withC(c, { mounts: [...c.mounts.filter((m) => m.path !== a.path), { path: a.path, cache: { key: decodeId(a.cache, 'CacheVolume').key, sharing: a.sharing } }] }),
  'Container.withMountedFile': (c, a) => withC(c, { mounts: [...c.mounts.filter((m) => m.path !== a.path), { path: a.path, file: decodeId(a.source, 'File'), readOnly: true }] }),
  'Container.withEnvVariable': (c, a) => withC(c, { env: { ...c.env, [a.name]: a.value } }),
  'Container.withSecretVariable': (c, a) => withC(c, { secrets: { ...c.secrets, [a.name]: decodeId(a.secret, 'Secret').plaintext } }),
  'Container.withWorkdir': (c, a) => withC(c, { workdir: a.path }),
  'Container.withExec': (c, a) => withC(c, { execs: [...c.execs, { args: a.args, expect: a.expect, ...(a.experimentalPrivilegedNesting ? { nesting: true } : {}) }] }),
  // The directory copied into the container's filesystem: modelled as a copy bound at its path
  // (the container's own files, changed by later execs and read back by Container.directory).
  'Container.withDirectory': (c, a) => {
    if (a.include?.length || a.exclude?.length || a.gitignore || a.owner || a.expand || a.permissions != null) throw new GraphQLError('dagger stub: withDirectory options are not modelled');
    return withC(c, { mounts: [...c.mounts.filter((m) => m.path !== a.path), { path: a.path, dir: decodeId(a.source, 'Directory'), readOnly: false }] });
  },
  'Container.exitCode': async (c, _, ctx) => (await evalContainer(c, ctx.signal)).exitCode,
  'Container.stdout': async (c, _, ctx) => (await evalContainer(c, ctx.signal)).stdout,
  'Container.stderr': async (c, _, ctx) => (await evalContainer(c, ctx.signal)).stderr,
  'Container.combinedOutput': async (c, _, ctx) => (await evalContainer(c, ctx.signal)).combined,
  'Container.directory': (c, a) => ({ __t: 'Directory', kind: 'container', container: c, path: a.path }),
  'Container.file': (c, a) => ({ __t: 'File', container: c, path: a.path }),
  'File.export': async (f, a, ctx) => {
    if (!f.container) throw new GraphQLError('dagger stub: only container files are exported');
    const r = await evalContainer(f.container, ctx.signal);
    const from = r.pathOf(f.path);
    if (!existsSync(from) || !lstatSync(from).isFile()) throw new GraphQLError(`${f.path}: not a file`);
    mkdirSync(path.dirname(a.path), { recursive: true });
    cpSync(from, a.path);
    log({ event: 'export', path: a.path, wipe: false, files: [path.basename(a.path)] });
    return a.path;
  },
  'Directory.filter': (d, a) => {
    if (a.gitignore) throw new GraphQLError('dagger stub: Directory.filter gitignore is not modelled');
    return { __t: 'Directory', kind: 'filter', dir: d, include: a.include ?? [], exclude: a.exclude ?? [] };
  },
  'Directory.changes': (d, a) => ({ __t: 'Changeset', before: decodeId(a.from, 'Directory'), after: d }),
  'Directory.diff': (d, a) => ({ __t: 'Directory', kind: 'diff', lower: d, upper: decodeId(a.other, 'Directory') }),
  'Directory.export': async (d, a, ctx) => {
    const src = await materialize(d, ctx.signal);
    exportTo(src, a.path, !!a.wipe);
    log({ event: 'export', path: a.path, wipe: !!a.wipe, files: listFiles(src) });
    return a.path;
  },
};

// A module's type definitions (what the TypeScript runtime registers: Module, TypeDef, Function,
// FunctionArg…) are pure values on the engine: each builder call is recorded in the value, so a
// test decodes the definition from its ID. ID arguments are decoded into the record.
const DEFINITION_TYPES = new Set(['Module', 'TypeDef', 'Function', 'FunctionArg', 'SourceMap', 'ObjectTypeDef', 'EnumTypeDef', 'InterfaceTypeDef', 'FieldTypeDef', 'ListTypeDef']);
const DEFINITION_ROOTS = new Set(['module', 'typeDef', 'function', 'sourceMap']);

function defineValue(source, args, info) {
  const type = getNamedType(info.returnType).name;
  if (!DEFINITION_TYPES.has(type)) throw new GraphQLError(`dagger stub: ${info.parentType.name}.${info.fieldName} is not modelled`);
  const decoded = {};
  for (const [k, v] of Object.entries(args)) {
    const argType = info.parentType.getFields()[info.fieldName].args.find((x) => x.name === k)?.type;
    const isId = argType && getNamedType(argType).name === 'ID';
    decoded[k] = !isId || v == null ? v : Array.isArray(v) ? v.map((x) => decodeId(x)) : decodeId(v);
  }
  const calls = source.__t === type ? source.calls : [];
  return { __t: type, calls: [...calls, { [info.fieldName]: decoded }] };
}

function fieldResolver(source, args, ctx, info) {
  if (info.fieldName === 'id') return encodeId(source);
  if ((info.parentType.name === 'Query' && DEFINITION_ROOTS.has(info.fieldName)) || DEFINITION_TYPES.has(info.parentType.name)) return defineValue(source, args, info);
  const r = resolvers[`${info.parentType.name}.${info.fieldName}`];
  if (!r) throw new GraphQLError(`dagger stub: ${info.parentType.name}.${info.fieldName} is not modelled`);
  return r(source, args, ctx);
}

// ---------------------------------------------------------------------------------------------
// The session's HTTP API.

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  if (auth !== `Basic ${Buffer.from(`${token}:`).toString('base64')}`) return answer(res, 401, { errors: [{ message: 'unauthorized' }] });
  if (req.method !== 'POST' || req.url !== '/query') return answer(res, 404, { errors: [{ message: 'not found' }] });
  const controller = new AbortController();
  // The client went away before the answer: Dagger cancels the request's work.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', async () => {
    let query;
    let variables;
    try {
      ({ query, variables } = JSON.parse(body));
    } catch {
      return answer(res, 400, { errors: [{ message: 'invalid JSON body' }] });
    }
    let doc;
    try {
      doc = parse(query);
    } catch (e) {
      log({ event: 'query', query, valid: false, error: e.message });
      return answer(res, 422, { errors: [{ message: e.message, locations: e.locations, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }], data: null });
    }
    const invalid = validate(schema, doc);
    log({ event: 'query', query, valid: invalid.length === 0, ...(invalid.length ? { error: invalid[0].message } : {}) });
    if (invalid.length) {
      return answer(res, 422, { errors: invalid.map((e) => ({ message: e.message, locations: e.locations, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })), data: null });
    }
    const result = await execute({
      schema,
      document: doc,
      variableValues: variables,
      rootValue: { __t: 'Query' },
      contextValue: { signal: controller.signal },
      fieldResolver,
      typeResolver: (v) => v.__t,
    });
    if (result.errors) log({ event: 'error', query, error: result.errors[0].message });
    if (!res.destroyed) answer(res, 200, { data: result.data ?? null, ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) });
  });
});

function shutdown() {
  for (const c of running) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  log({ event: 'session.closed' });
  server.close();
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  log({ event: 'session.started', port, argv: process.argv.slice(2) });
  process.stdout.write(`${JSON.stringify({ port, session_token: token })}\n`);
});
// The SDK ends a session by closing its stdin.
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
