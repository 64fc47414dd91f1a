/**
 * PRD conformance: every concrete command of the PRD's command reference (test/prd/commands.yaml,
 * each with the document and line it comes from) parses as a known atmos-pipe command with
 * known options and valid values — parsed by the CLI's own clipanion instance, as
 * src/cli/main.ts builds it — and a representative subset (`run:`) runs end to end on the
 * bundled example after a dev rollout, with the exit code and output the entry documents.
 * A failure lists every failing entry with its doc:line.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'clipanion';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeCli, normaliseArgv } from '../../src/cli/app.js';
import { CLI, exampleGitRepo, GIT_ENV, ROOT, runCli } from '../helpers.js';

interface Entry {
  doc: string;
  line: number;
  command: string;
  run?: { exit: number; output?: string };
}

const data = parse(readFileSync(path.join(ROOT, 'test/prd/commands.yaml'), 'utf8')) as { substitutions: Record<string, string>; commands: Entry[] };
const where = (e: Entry) => `${e.doc}:${e.line}`;

/** Shell words of a command line (quotes removed), up to a pipe or a redirect. */
function words(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur = (cur ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur ??= '';
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + ch;
  }
  if (cur !== undefined) out.push(cur);
  const stop = out.findIndex((w) => w === '|' || w.startsWith('>'));
  return stop < 0 ? out : out.slice(0, stop);
}

/** The atmos-pipe argv of a PRD command: `atmos deployment <verb>` is `atmos-pipe <verb>`, `atmos vendor …` is `atmos-pipe vendor …`. */
function argvOf(e: Entry): string[] {
  let line = e.command;
  for (const [k, v] of Object.entries(data.substitutions)) line = line.split(k).join(v);
  const w = words(line);
  if (w[0] !== 'atmos') throw new Error(`${where(e)}: not an atmos command: ${e.command}`);
  if (w[1] === 'deployment') return w.slice(2);
  if (w[1] === 'vendor') return w.slice(1);
  throw new Error(`${where(e)}: neither \`atmos deployment\` nor \`atmos vendor\`: ${e.command}`);
}

/** Why the CLI rejects the argv (unknown command, option or value), or undefined when it parses as the command it names. */
function parseProblem(argv: string[]): string | undefined {
  const normal = normaliseArgv(argv);
  const cli = makeCli('0.0.0-conformance', normal);
  let cmd: Command;
  try {
    cmd = cli.process(normal, {});
  } catch (err) {
    // An unknown syntax error lists the commands it tried and why each did not fit; an unknown
    // option is the reason that matters (the help command's "extraneous positional" is noise).
    const reasons = ((err as { candidates?: { reason: string | null }[] }).candidates ?? []).map((c) => c.reason ?? '');
    const options = reasons.filter((r) => r.startsWith('Unsupported option') || r.startsWith('Invalid value'));
    const message = String((err as Error).message);
    if (options.length) return [...new Set(options)].join('; ');
    if (message.startsWith('Command not found')) return `no command \`${argv[0]}\`${reasons.some(Boolean) ? ` (${[...new Set(reasons.filter(Boolean))].join('; ')})` : ''}`;
    return [...new Set(reasons.filter(Boolean).length ? reasons.filter(Boolean) : [message.split('\n')[0]])].join('; ');
  }
  const commandPath = (cmd.path ?? []).join(' ');
  const leading = normal.slice(0, (cmd.path ?? []).length).join(' ');
  if (!commandPath || commandPath !== leading) return `parsed as \`${commandPath || cmd.constructor.name}\`, not the command it names`;
  return undefined;
}

describe('the PRD command reference', () => {
  it('lists commands of every document, each once per place', () => {
    expect(data.commands.length).toBeGreaterThan(140);
    for (const doc of ['prd/cli-commands.md', 'prd/cli-integration.md', 'prd/index.md', 'seeds/000_5c9213e8fc5bda10.txt']) {
      expect(data.commands.some((e) => e.doc === doc)).toBe(true);
    }
    const places = data.commands.map(where);
    expect(new Set(places).size).toBe(places.length);
  });

  it('every command parses as a known atmos-pipe command with known options', () => {
    const failing = data.commands.flatMap((e) => {
      const problem = parseProblem(argvOf(e));
      return problem ? [`${where(e)}: ${e.command}\n    ${problem}`] : [];
    });
    expect(failing, `${failing.length} of ${data.commands.length} PRD commands are rejected:\n  ${failing.join('\n  ')}`).toEqual([]);
  });
});

/** The built CLI as a process, without blocking this worker (a long synchronous loop starves vitest's own messages). */
function runCliAsync(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

describe('the PRD commands, end to end on the bundled example after a dev rollout', () => {
  let repo: string;
  const env = { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' };
  beforeAll(() => {
    repo = exampleGitRepo('atmos-pipe-conformance-');
    const r = runCli(['--chdir', repo, 'rollout', 'payment-service', '--target', 'dev'], { env });
    if (r.code !== 0) throw new Error(`the dev rollout failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  });

  it('each command marked run: exits and prints as documented', async () => {
    const entries = data.commands.filter((e) => e.run);
    expect(entries.length).toBeGreaterThan(20);
    const failing: string[] = [];
    for (const e of entries) {
      const run = e.run!;
      const r = await runCliAsync(['--chdir', repo, ...argvOf(e)], env);
      const out = r.out;
      if (r.code !== run.exit) failing.push(`${where(e)}: ${e.command}\n    exit ${r.code}, expected ${run.exit}: ${out.trim().split('\n').slice(-3).join(' | ')}`);
      else if (run.output && !new RegExp(run.output).test(out)) failing.push(`${where(e)}: ${e.command}\n    output does not match /${run.output}/: ${out.trim().split('\n').slice(-3).join(' | ')}`);
    }
    expect(failing, `${failing.length} of ${entries.length} PRD commands run on the example fail:\n  ${failing.join('\n  ')}`).toEqual([]);
  });
});
