/**
 * The command line behaves like the best ones (git, gh, cargo): one-line usage errors with
 * the closest match, `-V`, grouped per-command help, results on stdout and progress on
 * stderr, JSON results, repository discovery, TERM=dumb / NO_COLOR, machine notices once,
 * completion scripts that load in real shells. Every case runs dist/cli.mjs as a process.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseRepo, CLI, type CliResult, exampleGitRepo, GIT_ENV, git, makeRepo, ROOT } from '../helpers.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const D = 'platform-network';

/**
 * The built CLI as a real process, like test/helpers.ts runCli, but asynchronous: the many
 * runs of one test never block the test worker (whose reports to vitest would time out).
 */
function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The lines of a text, without the trailing empty one. */
const lines = (s: string) => s.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);

/** A fresh per-user state directory, so "once per machine" starts from nothing. */
function stateHome(): string {
  return mkdtempSync(path.join(tmpdir(), 'atmos-pipe-state-'));
}

describe('usage errors are one line with the closest match, exit 2', () => {
  it('an unknown command names the closest command and points to --help', async () => {
    const r = await runCli(['rollot']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual(["atmos-pipe: 'rollot' is not a command; did you mean 'rollout'? (see 'atmos-pipe --help')"]);
    // The echoed word cannot drive the terminal.
    const hostile = await runCli(['\u001b[31mrollot\u0007']);
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).not.toMatch(/[\u001b\u0007]/);
    expect(hostile.stderr).toContain("'\\x1b[31mrollot\\x07' is not a command");
    const sub = await runCli(['vendor', 'pul']);
    expect(sub.code).toBe(2);
    expect(lines(sub.stderr)).toEqual(["atmos-pipe: 'vendor pul' is not a command; did you mean 'vendor pull'? (see 'atmos-pipe --help')"]);
  });

  it('an unknown option names the closest option of that command and its --help', async () => {
    const r = await runCli(['rollout', '--taget', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual(["atmos-pipe rollout: unknown option '--taget'; did you mean '--target'? (see 'atmos-pipe rollout --help')"]);
    // An option of another command is unknown here too (plan never pushes images).
    const other = await runCli(['plan', '--skip-push']);
    expect(other.code).toBe(2);
    expect(lines(other.stderr)).toHaveLength(1);
    expect(other.stderr).toContain("atmos-pipe plan: unknown option '--skip-push'");
  });

  it('a missing argument, an extra one and a bad value are one line located to the command', async () => {
    const missing = await runCli(['history']);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toMatch(/^atmos-pipe history: missing <deployment> \(usage: atmos-pipe history <deployment> \[options\]; see 'atmos-pipe history --help'\)\n$/);
    const extra = await runCli(['history', 'a', 'b']);
    expect(extra.code).toBe(2);
    expect(lines(extra.stderr)).toHaveLength(1);
    expect(extra.stderr).toContain('atmos-pipe history: extraneous positional argument ("b")');
    const bad = await runCli(['list', '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toContain('atmos-pipe list: invalid value for --format: expected one of "table", "json", or "yaml" (got "xml")');
    for (const r of [missing, extra, bad]) expect(r.stderr).not.toContain('#0');
  });

  it('-V and --version print the version on stdout', async () => {
    for (const flag of ['-V', '--version']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.stderr).toBe('');
    }
  });
});

describe('help', () => {
  it('--help lists the commands by category, one line each', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Run:\n {2}run +Run a pipeline over a deployment for one target\n {2}rollout +Roll a deployment out/m);
    expect(r.stdout).toMatch(/^ {2}vendor pull +Fetch the vendored Terraform modules/m);
    expect(r.stdout).toMatch(/^ {2}completion +Print the shell completion script/m);
    // No usage lines of every command (the old 5 KB dump).
    expect(r.stdout).not.toContain('--target');
    expect(r.stdout.length).toBeLessThan(4000);
    expect((await runCli([])).stdout).toBe(r.stdout);
    expect((await runCli(['help'])).stdout).toBe(r.stdout);
  });

  it('rollout --help shows its options grouped, with examples; help rollout is the same page', async () => {
    const r = await runCli(['rollout', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: atmos-pipe rollout \[deployment\] \[options\]$/m);
    const groups = r.stdout.split('\n').filter((l) => /^[A-Z][A-Za-z &]+:$/.test(l));
    expect(groups).toEqual(['Target & scope:', 'Execution:', 'Release & tracking:', 'Output:', 'Global:', 'Examples:']);
    expect(r.stdout).toMatch(/^ {2}-t, --target <target> +Target/m);
    expect(r.stdout).toMatch(/^Release & tracking:\n {2}--promote-from <promote-from>/m);
    expect(r.stdout).toContain('$ atmos-pipe rollout payment-service --target prod --promote-from staging');
    expect(r.stdout).not.toContain('#0');
    expect(r.stdout).not.toContain('--junit-xml');
    expect(r.stdout).not.toContain('--skip-push');
    expect((await runCli(['help', 'rollout'])).stdout).toBe(r.stdout);
    const plan = (await runCli(['plan', '--help'])).stdout;
    expect(plan).not.toMatch(/--junit-xml|--skip-push|--promote-from/);
    const test = (await runCli(['test', '--help'])).stdout;
    expect(test).toMatch(/^ {2}--junit-xml <junit-xml> +test pipeline/m);
    expect(test).toMatch(/^ {2}--skip-push +Keep built images/m);
  });

  it('every command has a help page naming its arguments, never #0', async () => {
    const list = (await runCli(['--help'])).stdout;
    const names = [...list.matchAll(/^ {2}([a-z][a-z -]*?[a-z]) {2,}/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(25);
    for (const n of names) {
      const r = await runCli([...n.split(' '), '--help']);
      expect(r.code, n).toBe(0);
      expect(r.stdout, n).toMatch(new RegExp(`^Usage: atmos-pipe ${n}( |$)`, 'm'));
      expect(r.stdout, n).not.toContain('#');
      expect(r.stdout, n).toMatch(/^Global:\n {2}-C, --chdir <chdir>/m);
    }
    expect((await runCli(['help', 'rollot'])).code).toBe(2);
  });
});

describe('completion scripts generated from the command definitions', () => {
  /** The script in a file, as a user saves it. */
  function saved(script: string, ext: string): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'atmos-pipe-completion-')), `atmos-pipe.${ext}`);
    writeFileSync(file, script);
    return file;
  }
  /** Runs the completion function the way `shell` calls it for the words typed so far. */
  function complete(shell: 'bash' | 'zsh', script: string, words: string[]): string[] {
    const file = saved(script, shell);
    // bash numbers COMP_WORDS from 0; zsh's bashcompinit passes its own (1-based) array.
    const code = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _atmos_pipe; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync(shell, ['-c', code, shell, file, ...words], { encoding: 'utf8', env: { ...process.env, HOME: path.dirname(file), ZDOTDIR: path.dirname(file) } });
    return out.split('\n').filter(Boolean);
  }

  it('bash completes command names, subcommands and the options of the command typed', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(complete('bash', r.stdout, ['atmos-pipe', 'roll'])).toEqual(['rollout']);
    expect(complete('bash', r.stdout, ['atmos-pipe', 'rollout', '--tar'])).toEqual(['--target']);
    expect(complete('bash', r.stdout, ['atmos-pipe', '-C', 'dir', 'vendor', 'pu'])).toEqual(['pull']);
    expect(complete('bash', r.stdout, ['atmos-pipe', 'plan', '--target', 'dev', '--o'])).toEqual(['--out']);
    // Options belong to their command: plan has no --skip-push, test has it.
    expect(complete('bash', r.stdout, ['atmos-pipe', 'plan', '--skip'])).toEqual([]);
    expect(complete('bash', r.stdout, ['atmos-pipe', 'test', '--skip'])).toEqual(['--skip-push']);
    // Registered with the shell.
    expect(execFileSync('bash', ['-c', 'source "$1"; complete -p atmos-pipe', 'bash', saved(r.stdout, 'bash')], { encoding: 'utf8' }).trim()).toBe('complete -o default -F _atmos_pipe atmos-pipe');
  });

  it('zsh loads the script (bashcompinit) and gets the same candidates (zsh filters them by prefix)', async () => {
    const r = await runCli(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(complete('zsh', r.stdout, ['atmos-pipe', 'roll'])).toContain('rollout');
    const opts = complete('zsh', r.stdout, ['atmos-pipe', 'rollout', '--tar']);
    expect(opts).toContain('--target');
    expect(opts).not.toContain('--junit-xml');
    expect(complete('zsh', r.stdout, ['atmos-pipe', 'vendor', 'pu'])).toEqual(['pull', 'status', 'cache', 'clean']);
  });

  it('fish completes commands and options with their descriptions', async () => {
    const r = await runCli(['completion', 'fish']);
    expect(r.code).toBe(0);
    const file = saved(r.stdout, 'fish');
    const run = (line: string) => execFileSync('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', file, line], { encoding: 'utf8' });
    expect(run('atmos-pipe roll')).toMatch(/^rollout\tRoll a deployment out to a target/m);
    expect(run('atmos-pipe rollout --tar')).toMatch(/^--target\t/m);
    expect(run('atmos-pipe vendor pu')).toMatch(/^pull\t/m);
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runCli(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
  });
});

describe('repository discovery, like git', () => {
  let repo: string;
  beforeAll(() => {
    repo = makeRepo(baseRepo());
    git(repo, 'init', '-q', '-b', 'main');
  });

  it('a command run from a subdirectory finds the repository above it', async () => {
    const top = await runCli(['list', '--format', 'json'], { cwd: repo });
    expect(top.code, top.stderr).toBe(0);
    const deep = path.join(repo, 'stacks', 'catalog');
    const sub = await runCli(['list', '--format', 'json'], { cwd: deep });
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stdout).toBe(top.stdout);
    expect((JSON.parse(sub.stdout) as { deployments: { name: string }[] }).deployments.map((d) => d.name)).toEqual(['shop']);
    const described = await runCli(['describe', 'shop', '--target', 'dev', '--format', 'json'], { cwd: deep });
    expect(described.code, described.stderr).toBe(0);
    expect((JSON.parse(described.stdout) as { stacks: string[] }).stacks.length).toBeGreaterThan(0);
  });

  it('outside any repository: a clear error, exit 2; the search stops at the Git top level', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-norepo-'));
    git(empty, 'init', '-q');
    mkdirSync(path.join(empty, 'a', 'b'), { recursive: true });
    const r = await runCli(['list'], { cwd: path.join(empty, 'a', 'b') });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`not in an atmos-pipe repository: no atmos.yaml (or deployments/ directory) in ${path.join(empty, 'a', 'b')} or any parent up to ${empty}`);
    expect(r.stderr).toContain('--chdir');
    // A Git checkout nested in the repository is its own project: not searched past.
    const nested = path.join(repo, 'vendor-src');
    mkdirSync(nested, { recursive: true });
    git(nested, 'init', '-q');
    expect((await runCli(['list'], { cwd: nested })).code).toBe(2);
  });

  it('--chdir wins over discovery', async () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-elsewhere-'));
    const r = await runCli(['--chdir', repo, 'list', '--format', 'json'], { cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { deployments: { name: string }[] }).deployments.map((d) => d.name)).toEqual(['shop']);
  });
});

describe('results on stdout, progress on stderr, JSON results (real Terraform)', () => {
  let dir: string;
  const env = { ...GIT_ENV } as Record<string, string>;
  const cli = (args: string[], cwd = dir, extra: Record<string, string> = {}) => runCli(args, { cwd, env: { ...env, ...extra } });
  beforeAll(() => {
    dir = exampleGitRepo('atmos-pipe-manners-');
    env.XDG_STATE_HOME = stateHome();
  });

  it('plan --format json from a subdirectory: per component status, changes, steps and timings', { timeout: 120_000 }, async () => {
    const r = await cli(['plan', D, '--target', 'dev', '--format', 'json'], path.join(dir, 'components'));
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as {
      pipeline: string;
      deployment: string;
      target: string;
      status: string;
      release: null;
      duration_ms: number;
      counts: Record<string, number>;
      components: { address: string; status: string; duration_ms: number; changes: { add: number; change: number; destroy: number }; steps: { id: string; status: string; duration_ms: number }[] }[];
    };
    expect(v).toMatchObject({ pipeline: 'plan', deployment: D, target: 'dev', status: 'success', release: null });
    expect(v.duration_ms).toBeGreaterThan(0);
    expect(v.components.map((c) => c.address)).toEqual(['terraform/vpc']);
    const vpc = v.components[0];
    expect(vpc.status).toBe('done');
    expect(vpc.changes.add).toBeGreaterThan(0);
    expect(vpc.changes).toMatchObject({ change: 0, destroy: 0 });
    expect(vpc.steps.map((s) => s.id)).toEqual(['plan:terraform/vpc:init', 'plan:terraform/vpc:plan', 'plan:terraform/vpc:show']);
    for (const s of vpc.steps) expect(typeof s.duration_ms).toBe('number');
    // Progress went to stderr, one line per event; the result did not.
    expect(r.stderr).toMatch(/start +terraform\/vpc:plan/);
    expect(r.stderr).not.toContain('"pipeline"');
    expect(r.stderr).not.toContain('ADD');
  });

  it('rollout > result.txt captures the summary and the Git records; the per-event lines stay on stderr', { timeout: 120_000 }, async () => {
    const r = await cli(['rollout', D, '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^COMPONENT +STEP +STATUS +DURATION +CACHE$/m);
    expect(r.stdout).toMatch(/^terraform\/vpc +apply +done/m);
    expect(r.stdout).toMatch(/rollout platform-network → dev: 3 steps/);
    expect(r.stdout).toMatch(/^release r-[0-9a-f]{12} \(created\) at commit [0-9a-f]{12}$/m);
    expect(r.stdout).toMatch(/^ {2}vpc: success → tag atmos\/deployments\/platform-network\/dev\/vpc\//m);
    expect(r.stderr).toMatch(/start +terraform\/vpc:apply/);
    expect(r.stderr).not.toContain('COMPONENT');
    expect(r.stderr).not.toContain('(created) at commit');
  });

  it('rollout --format json: release, per component status, output names (no values), Git records, timings; | jq works', { timeout: 120_000 }, async () => {
    const r = await cli(['rollout', D, '--target', 'staging', '--promote-from', 'dev', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as {
      pipeline: string;
      status: string;
      run_id: string;
      started_at: string;
      finished_at: string;
      release: { id: string; created: boolean; commit: string; promoted_from: string };
      components: { address: string; status: string; outputs: string[]; recorded: { status: string; tag: string } }[];
    };
    expect(v).toMatchObject({ pipeline: 'rollout', status: 'success' });
    expect(v.release.id).toMatch(/^r-[0-9a-f]{12}$/);
    expect(v.release).toMatchObject({ created: false, commit: git(dir, 'rev-parse', 'HEAD'), promoted_from: 'dev' });
    expect(Date.parse(v.finished_at)).toBeGreaterThanOrEqual(Date.parse(v.started_at));
    const vpc = v.components.find((c) => c.address === 'terraform/vpc')!;
    expect(vpc.status).toBe('done');
    expect(vpc.outputs).toContain('vpc_id');
    expect(vpc.recorded.status).toBe('success');
    expect(vpc.recorded.tag).toMatch(/^atmos\/deployments\/platform-network\/staging\/vpc\//);
    // Only names: no output value is in the result.
    expect(JSON.stringify(v)).not.toMatch(/vpc-[0-9a-f]{6,}/);

    // A real pipe into jq (the per-event lines on stderr do not disturb it).
    const piped = spawnSync('bash', ['-c', 'node "$1" rollout "$2" --target staging --promote-from dev --format json 2>/dev/null | jq -r .release.id', 'bash', CLI, D], {
      cwd: dir,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout.trim()).toBe(v.release.id);
  });

  it('--approve without a terminal and without --approver is a usage error (exit 2)', { timeout: 60_000 }, async () => {
    const r = await cli(['rollout', D, '--target', 'prod', '--promote-from', 'staging', '--approve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--approve needs --approver <id> when there is no terminal to ask');
    expect(r.stdout).toBe('');
  });

  it('every read command prints its result on stdout, and --format json parses', { timeout: 120_000 }, async () => {
    const commands = [
      ['list'],
      ['describe', D, '--target', 'dev'],
      ['validate', '--all'],
      ['graph', D, '--target', 'dev'],
      ['promotion-graph', D],
      ['status', D],
      ['history', D],
      ['releases', D],
      ['promotion-status', D],
      ['diff', D, '--from-target', 'dev', '--to-target', 'staging'],
      ['modules'],
    ];
    for (const c of commands) {
      const r = await cli([...c, '--format', 'json'], path.join(dir, 'stacks'));
      expect(r.code, `${c.join(' ')}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout), c.join(' ')).not.toThrow();
      expect(r.stderr, c.join(' ')).toBe('');
      const table = await cli(c, path.join(dir, 'stacks'));
      expect(table.code, c.join(' ')).toBe(0);
      expect(table.stdout.length, c.join(' ')).toBeGreaterThan(0);
      expect(table.stderr, c.join(' ')).toBe('');
    }
    const status = JSON.parse((await cli(['status', D, '--format', 'json'])).stdout) as unknown;
    expect(JSON.stringify(status)).toContain('staging');
  });
});

describe('terminals: TERM=dumb and NO_COLOR', () => {
  let repo: string;
  beforeAll(() => {
    repo = makeRepo(baseRepo());
  });

  /** The CLI in a pseudo-terminal (util-linux `script`): what a user's terminal receives. */
  function inTerminal(args: string[], env: Record<string, string>): string {
    const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const base = { ...process.env } as Record<string, string>;
    for (const k of ['CI', 'NO_COLOR', 'FORCE_COLOR', 'GITHUB_ACTIONS', 'GITLAB_CI']) delete base[k];
    return execFileSync('script', ['-qec', cmd, '/dev/null'], { cwd: repo, encoding: 'utf8', env: { ...base, ...env } });
  }

  it('colours on a terminal, none with NO_COLOR, TERM=dumb or --color never; --color always forces them', async () => {
    const ESC = '\u001b[';
    expect(inTerminal(['list'], { TERM: 'xterm' })).toContain(ESC);
    expect(inTerminal(['list'], { TERM: 'xterm', NO_COLOR: '1' })).not.toContain(ESC);
    expect(inTerminal(['list'], { TERM: 'dumb' })).not.toContain(ESC);
    expect(inTerminal(['list', '--color', 'never'], { TERM: 'xterm' })).not.toContain(ESC);
    expect((await runCli(['list', '--color', 'always'], { cwd: repo })).stdout).toContain(ESC);
  });
});

describe('machine notices: once per machine, every time under -v, never under -q', () => {
  let dir: string;
  beforeAll(() => {
    dir = exampleGitRepo('atmos-pipe-notices-');
  });
  const NOTICE = 'no Dagger engine found';
  const plan = (state: string, ...extra: string[]) => {
    const env: Record<string, string> = { ...(GIT_ENV as Record<string, string>), XDG_STATE_HOME: state, DAGGER_SESSION_PORT: '', _EXPERIMENTAL_DAGGER_CLI_BIN: '' };
    return runCli(['plan', D, '--target', 'dev', '--engine', 'auto', ...extra], { cwd: dir, env });
  };

  it('says "no Dagger engine found" once, remembers it in the per-user state file, again under -v', { timeout: 180_000 }, async () => {
    const state = stateHome();
    // A corrupt state file is as good as none.
    mkdirSync(path.join(state, 'atmos-pipe'));
    writeFileSync(path.join(state, 'atmos-pipe', 'notices.json'), '{not json');
    const first = await plan(state);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(NOTICE);
    expect(readFileSync(path.join(state, 'atmos-pipe', 'notices.json'), 'utf8')).toMatch(/"[0-9a-f]{32}": "\d{4}-/);
    const second = await plan(state);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain(NOTICE);
    expect((await plan(state, '-v')).stderr).toContain(NOTICE);
    // -q: no notices at all, even the first time.
    const quiet = await plan(stateHome(), '-q');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain(NOTICE);
    // A state directory that cannot be written: said every time, the run unaffected.
    const file = path.join(stateHome(), 'not-a-directory');
    writeFileSync(file, 'x');
    for (let i = 0; i < 2; i++) {
      const r = await plan(path.join(file, 'state'));
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(NOTICE);
    }
  });
});
