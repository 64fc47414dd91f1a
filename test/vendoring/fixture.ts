/**
 * Real vendor sources made in the test: a bare Git repository with tags, a local HTTP
 * server on 127.0.0.1 serving tarballs, and the CLI run without blocking the event loop
 * (the server lives in this process).
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { afterAll } from 'vitest';
import { CLI, type CliResult } from '../helpers.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'atmos-pipe-vendor-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' };
export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export const VPC_V1 = [
  'variable "cidr" { type = string }',
  'resource "terraform_data" "vpc" { input = var.cidr }',
  'output "version" { value = "1.0.0" }',
  'output "cidr" { value = terraform_data.vpc.output }',
  '',
].join('\n');

export const VPC_V11 = [
  'variable "cidr" { type = string }',
  'variable "flow_logs" { default = false }',
  'resource "terraform_data" "vpc" { input = var.cidr }',
  'output "version" { value = "1.1.0" }',
  'output "cidr" { value = terraform_data.vpc.output }',
  'output "flow_logs" { value = var.flow_logs }',
  '',
].join('\n');

/** A bare repository with `modules/vpc` at tags v1.0.0 and v1.1.0 (and a branch main). */
export function bareRepo(): { bare: string; url: string; commits: Record<string, string> } {
  const root = tempDir('atmos-pipe-git-');
  const work = path.join(root, 'work');
  mkdirSync(path.join(work, 'modules', 'vpc'), { recursive: true });
  git(root, 'init', '-q', '-b', 'main', work);
  writeFileSync(path.join(work, 'README.md'), '# terraform-aws-vpc\n');
  writeFileSync(path.join(work, 'modules/vpc/main.tf'), VPC_V1);
  writeFileSync(path.join(work, 'modules/vpc/README.md'), 'vpc v1\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'v1.0.0');
  git(work, 'tag', '-a', 'v1.0.0', '-m', 'v1.0.0');
  writeFileSync(path.join(work, 'modules/vpc/main.tf'), VPC_V11);
  writeFileSync(path.join(work, 'modules/vpc/README.md'), 'vpc v1.1\n');
  git(work, 'commit', '-q', '-am', 'v1.1.0');
  git(work, 'tag', 'v1.1.0');
  const bare = path.join(root, 'terraform-aws-vpc.git');
  git(root, 'clone', '-q', '--bare', work, bare);
  const commits = { 'v1.0.0': git(bare, 'rev-parse', 'v1.0.0^{commit}'), 'v1.1.0': git(bare, 'rev-parse', 'v1.1.0^{commit}') };
  return { bare, url: `file://${bare}`, commits };
}

export interface TarEntry {
  name: string;
  content?: string;
  type?: Header['type'];
  linkname?: string;
  mode?: number;
}

/** A gzipped tarball (tar-stream), any entries, including hostile ones. */
export async function tarGz(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header: Header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      size: 0,
      linkname: e.linkname ?? '',
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      devmajor: 0,
      devminor: 0,
    };
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') p.entry(header, e.content ?? '', (err) => (err ? reject(err) : resolve()));
      else p.entry(header, (err) => (err ? reject(err) : resolve())).end();
    });
  }
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

export interface TestServer {
  url: string;
  port: number;
  /** Paths requested, in order. */
  hits: string[];
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

/** node:http on 127.0.0.1, a free port, serving `files` (path → bytes). */
export async function serve(files: Record<string, Buffer>): Promise<TestServer> {
  const map = new Map(Object.entries(files));
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = map.get((req.url ?? '').split('?')[0]);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    files: map,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The built CLI as a child process, without blocking this process (its HTTP server keeps serving). */
export function runCliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? process.cwd(), env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every path below dir (files, links and directories), relative, sorted. */
export function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      const p = path.join(d, n);
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out;
}
