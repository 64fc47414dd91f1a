/**
 * `init`: a new repository that validates and rolls out with real Terraform unedited; an
 * existing Atmos repository completed without touching anything else (atmos.yaml byte-identical); no question ever asked
 * without a terminal; hostile names refused before anything is written. And the Atmos custom
 * command it writes to .atmos.d/atmos-pipe.yaml: the shape Atmos's schema accepts, and steps that forward every argument
 * exactly (values with spaces, quotes or `;` stay one argument).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOptionsFor, renderTemplate } from '../../src/gotemplate/index.js';
import { CLI, GIT_ENV, ROOT, git, listTree, makeRepo } from '../helpers.js';
import { INHERITANCE } from './fixtures.js';
import schema from './atmos-command.schema.json' with { type: 'json' };

/** The CLI as a process with stdin closed (no terminal), Git's identity fixed; never waits on input. */
function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '', timeout: 300_000, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env } });
  expect(r.signal, `${args.join(' ')} was killed (did it wait for input?)`).toBeNull();
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const emptyDir = () => makeRepo({});
const hashes = (dir: string) =>
  Object.fromEntries(
    listTree(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(dir, f)))
        .digest('hex'),
    ]),
  );

interface AtmosCommand {
  name: string;
  arguments?: { name: string; required?: boolean; default?: string }[];
  flags?: { name: string; type?: string; shorthand?: string }[];
  env?: { key: string; value: string }[];
  steps?: string[];
  commands?: AtmosCommand[];
}
const deploymentCommand = (atmosYaml: string): AtmosCommand => {
  const cmds = (parse(atmosYaml) as { commands?: AtmosCommand[] }).commands ?? [];
  const found = cmds.filter((c) => c.name === 'deployment');
  expect(found).toHaveLength(1);
  return found[0];
};

describe('init in an empty directory', () => {
  it('scaffolds a repository that validates and rolls out to its first target with real Terraform, unedited', () => {
    const dir = emptyDir();
    const r = cli(['init', '--name', 'hello', '--targets', 'dev,staging,prod'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['atmos.yaml', 'stacks/hello.yaml', 'components/terraform/hello/main.tf', 'deployments/hello.yaml', '.gitignore', '.atmos.d/atmos-pipe.yaml'])
      expect(r.stdout).toContain(`wrote  ${f}`);
    // The custom command lives in its own fragment: the scaffold's atmos.yaml has no commands.
    expect(parse(readFileSync(path.join(dir, 'atmos.yaml'), 'utf8')).commands).toBeUndefined();
    expect(r.stdout).toContain('atmos-pipe rollout hello --target dev');
    // A Git repository with the scaffold committed: a rollout records its release against a commit.
    expect(git(dir, 'log', '--format=%s')).toBe('atmos-pipe init: deployment hello');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\.atmos\/$/m);
    const dep = parse(readFileSync(path.join(dir, 'deployments/hello.yaml'), 'utf8')).deployment;
    expect(dep.targets.staging.promotion).toEqual({ from: 'dev' });
    expect(dep.targets.prod.promotion).toEqual({ from: 'staging', requires_approval: true });

    const v = cli(['validate', 'hello'], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('✓ hello: 3 targets (dev, staging, prod), 1 component');
    const roll = cli(['rollout', 'hello', '--target', 'dev'], dir);
    expect(roll.code, roll.stderr).toBe(0);
    expect(`${roll.stdout}${roll.stderr}`).toMatch(/hello: success/);
    const st = cli(['status', 'hello', '--format', 'json'], dir);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('"dev"');
    // Promotion is refused without an approval where the scaffold asks for one.
    expect(cli(['rollout', 'hello', '--target', 'staging', '--promote-from', 'dev'], dir).code).toBe(0);
    expect(cli(['rollout', 'hello', '--target', 'prod', '--promote-from', 'staging'], dir).code).toBe(3);
  });

  it('asks nothing without a terminal: defaults (the directory name, dev and prod) and flags', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-onramp-'));
    const dir = path.join(base, 'My Service');
    const r = cli(['init', dir], base);
    expect(r.code).toBe(0);
    const dep = parse(readFileSync(path.join(dir, 'deployments/my-service.yaml'), 'utf8')).deployment;
    expect(dep.name).toBe('my-service');
    expect(Object.keys(dep.targets)).toEqual(['dev', 'prod']);
    expect(cli(['validate', '--all'], dir).code).toBe(0);
  });

  it('on a terminal asks for the name and targets (a bad answer asked again), with defaults', () => {
    const dir = emptyDir();
    // `script` gives the command a terminal; the answers are typed ahead, as a user may paste them.
    const r = spawnSync('script', ['-qec', `'${process.execPath}' '${CLI}' init --no-git`, '/dev/null'], {
      cwd: dir,
      input: 'Bad_Name\nmy-app\ndev,qa\n',
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ...GIT_ENV, NO_COLOR: '1' },
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Deployment name (');
    expect(r.stdout).toContain('"Bad_Name": must be kebab-case');
    expect(r.stdout).toContain('Targets, in promotion order (dev,prod)');
    const dep = parse(readFileSync(path.join(dir, 'deployments/my-app.yaml'), 'utf8')).deployment;
    expect(Object.keys(dep.targets)).toEqual(['dev', 'qa']);
    expect(dep.targets.qa.promotion).toEqual({ from: 'dev', requires_approval: true });
  });

  it('refuses hostile names and targets with exit 2, writing nothing', () => {
    for (const args of [
      ['--name', '../x'],
      ['--name', 'Bad_Name'],
      ['--name', 'a/b'],
      ['--targets', 'dev,Prod'],
      ['--targets', 'dev,dev'],
      ['--targets', ','],
    ]) {
      const dir = emptyDir();
      const r = cli(['init', ...args, '--yes'], dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--name|--targets/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(listTree(dir)).toEqual([]);
    }
  });

  it('--dry-run writes nothing', () => {
    const dir = emptyDir();
    const r = cli(['init', '--name', 'hello', '--dry-run'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would write  deployments/hello.yaml');
    expect(listTree(dir)).toEqual([]);
  });
});

describe('init in an existing Atmos repository', () => {
  it('adds only what is missing: a .gitignore and .atmos.d/atmos-pipe.yaml, atmos.yaml byte-identical; twice is once', () => {
    const atmos = `# Our Atmos settings (keep this comment)\n${INHERITANCE['atmos.yaml']}commands:\n  # a command of our own\n  - name: hello\n    description: say hello\n    steps:\n      - echo hello   # trailing comment\nworkflows:\n  base_path: stacks/workflows\n`;
    const dir = makeRepo({ ...INHERITANCE, 'atmos.yaml': atmos });
    git(dir, 'init', '-q');
    const before = hashes(dir);
    const r = cli(['init', '--name', 'network'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Existing Atmos repository');
    expect(r.stdout).toMatch(/skipped\s+atmos\.yaml\s+\(exists\)/);
    expect(r.stdout).toContain('wrote  .atmos.d/atmos-pipe.yaml');
    expect(r.stdout).toContain('wrote  .gitignore');
    expect(r.stdout).toMatch(/Stacks found.*\n {2}plat-ue2-dev\n/);
    expect(r.stdout).toContain('atmos-pipe migrate --from-stack plat-ue2-dev --name network');
    expect(r.stdout).toContain('atmos deployment describe network --target dev');
    const after = hashes(dir);
    const added = Object.keys(after).filter((f) => !(f in before));
    expect(added).toEqual(['.atmos.d/atmos-pipe.yaml', '.gitignore']);
    for (const [f, h] of Object.entries(before)) if (!f.startsWith('.git/')) expect(after[f], f).toBe(h);
    expect(readFileSync(path.join(dir, 'atmos.yaml'), 'utf8')).toBe(atmos);
    // The fragment: a header saying where it comes from and how to regenerate it, then only `commands:`.
    const fragment = readFileSync(path.join(dir, '.atmos.d/atmos-pipe.yaml'), 'utf8');
    expect(fragment).toMatch(/^# Generated by `atmos-pipe init`/);
    expect(fragment).toContain('run `atmos-pipe init` again to\n# regenerate it');
    expect(Object.keys(parse(fragment))).toEqual(['commands']);
    expect(deploymentCommand(fragment).name).toBe('deployment');
    // No sample stack, module or deployment in someone's Atmos repository.
    expect(listTree(dir).some((f) => f.startsWith('deployments/'))).toBe(false);

    const again = cli(['init', '--name', 'network'], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/skipped\s+\.atmos\.d\/atmos-pipe\.yaml\s+\(up to date\)/);
    expect(again.stdout).toMatch(/skipped\s+\.gitignore/);
    expect(again.stdout).toContain('atmos deployment describe network --target dev');
    expect(hashes(dir)).toEqual(after);

    // A stale fragment (an older atmos-pipe generated it) is regenerated: that file only.
    writeFileSync(path.join(dir, '.atmos.d/atmos-pipe.yaml'), 'commands: []\n');
    const regen = cli(['init', '--name', 'network'], dir);
    expect(regen.code).toBe(0);
    expect(regen.stdout).toMatch(/updated\s+\.atmos\.d\/atmos-pipe\.yaml/);
    expect(hashes(dir)).toEqual(after);
  });

  it('a `deployment` command atmos.yaml or another fragment already defines is not doubled: warned and skipped', () => {
    const own = `${INHERITANCE['atmos.yaml']}commands:\n  - name: deployment\n    steps: [echo ours]\n`;
    for (const files of [{ 'atmos.yaml': own }, { 'atmos.d/team/commands.yml': 'commands:\n  - name: deployment\n    steps: [echo ours]\n' }]) {
      const dir = makeRepo({ ...INHERITANCE, ...files });
      const before = hashes(dir);
      const r = cli(['init', '--name', 'network', '--no-git'], dir);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: .*already defines a `deployment` custom command/m);
      expect(r.stdout).toMatch(/skipped\s+\.atmos\.d\/atmos-pipe\.yaml\s+\(.* defines a `deployment` command\)/);
      expect(r.stdout).toContain('atmos-pipe describe network --target dev');
      expect(Object.keys(hashes(dir)).filter((f) => !(f in before))).toEqual(['.gitignore']);
    }
  });

  it('the block an older init inserted into atmos.yaml stays there, and says so', () => {
    const old = `${INHERITANCE['atmos.yaml']}\n# \`atmos deployment <command> …\` runs \`atmos-pipe <command> …\` (added by atmos-pipe init)\ncommands:\n  - name: deployment\n    steps: [echo old]\n`;
    const dir = makeRepo({ ...INHERITANCE, 'atmos.yaml': old });
    const r = cli(['init', '--name', 'network', '--no-git'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/skipped\s+\.atmos\.d\/atmos-pipe\.yaml\s+\(an older atmos-pipe init added the `deployment` command to atmos\.yaml; left there/);
    expect(r.stdout).toContain('atmos deployment describe network --target dev');
    expect(readFileSync(path.join(dir, 'atmos.yaml'), 'utf8')).toBe(old);
    expect(existsSync(path.join(dir, '.atmos.d'))).toBe(false);
  });

  it('an atmos.yaml that does not parse is left as it is, no fragment written, with a warning; a flow `commands:` list is no obstacle', () => {
    const broken = 'stacks: [unclosed\n';
    const dir = makeRepo({ ...INHERITANCE, 'atmos.yaml': broken });
    const r = cli(['init', '--name', 'network', '--no-git'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: atmos\.yaml does not parse/m);
    expect(readFileSync(path.join(dir, 'atmos.yaml'), 'utf8')).toBe(broken);
    expect(existsSync(path.join(dir, '.atmos.d'))).toBe(false);

    const flow = 'commands: [{ name: hello, steps: [echo] }]\nstacks: { base_path: stacks }\n';
    const dir2 = makeRepo({ ...INHERITANCE, 'atmos.yaml': flow });
    const r2 = cli(['init', '--name', 'network', '--no-git'], dir2);
    expect(r2.code).toBe(0);
    expect(r2.stderr).toBe('');
    expect(readFileSync(path.join(dir2, 'atmos.yaml'), 'utf8')).toBe(flow);
    expect(deploymentCommand(readFileSync(path.join(dir2, '.atmos.d/atmos-pipe.yaml'), 'utf8')).name).toBe('deployment');
    expect(existsSync(path.join(dir2, '.git'))).toBe(false); // --no-git
  });

  it('a .atmos.d/atmos-pipe.yaml that is a link is not written through', () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-outside-'));
    const dir = makeRepo(INHERITANCE);
    mkdirSync(path.join(dir, '.atmos.d'));
    symlinkSync(path.join(outside, 'target.yaml'), path.join(dir, '.atmos.d/atmos-pipe.yaml'));
    const r = cli(['init', '--name', 'network', '--no-git'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: \.atmos\.d\/atmos-pipe\.yaml is not a regular file/m);
    expect(existsSync(path.join(outside, 'target.yaml'))).toBe(false);
  });
});

describe('the `atmos deployment` custom command', () => {
  const dir = emptyDir();
  cli(['init', '--name', 'hello'], dir);
  const command = deploymentCommand(readFileSync(path.join(dir, '.atmos.d/atmos-pipe.yaml'), 'utf8'));

  it('has the shape of an Atmos custom command (pkg/schema/command.go), with the rules Atmos enforces when it registers one', () => {
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(command), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const atmosGlobal = ['chdir', 'base-path', 'config', 'config-path', 'logs-level', 'logs-file', 'no-color', 'pager', 'identity', 'interactive', 'help'];
    const walk = (c: AtmosCommand, depth: number) => {
      const names = (c.flags ?? []).map((f) => f.name);
      expect(new Set(names).size, `${c.name}: duplicate flags`).toBe(names.length);
      for (const n of names) expect(atmosGlobal, `${c.name}: --${n} is an Atmos global flag`).not.toContain(n);
      expect(
        (c.flags ?? []).some((f) => f.shorthand),
        `${c.name}: no shorthand (they could clash with Atmos's)`,
      ).toBe(false);
      const args = c.arguments ?? [];
      // Atmos exits on an omitted argument without a default, even one not required.
      for (const a of args) if (!a.required) expect(a.default, `${c.name} ${a.name}`).toBeTruthy();
      // Cobra RangeArgs(required, all): required ones first.
      expect(args.findIndex((a) => !a.required) === -1 || args.slice(args.findIndex((a) => !a.required)).every((a) => !a.required)).toBe(true);
      for (const s of c.steps ?? []) expect(s).toMatch(/^\$\{ATMOS_PIPE_BIN:-atmos-pipe\}/);
      for (const sub of c.commands ?? []) walk(sub, depth + 1);
    };
    walk(command, 0);
    const verbs = (command.commands ?? []).map((c) => c.name);
    for (const v of ['rollout', 'plan', 'describe', 'validate', 'status', 'history', 'approve', 'migrate', 'init', 'vendor']) expect(verbs).toContain(v);
    expect(command.commands?.find((c) => c.name === 'vendor')?.commands?.map((c) => c.name)).toContain('pull');
  });

  /** What Atmos runs for `atmos deployment <path…> <args> --flags`: env and step rendered as Go templates, the step by a shell. */
  function runAtmosStep(pathWords: string[], args: Record<string, string>, flags: Record<string, string | boolean>, env: Record<string, string>): string {
    let c = command;
    for (const w of pathWords) c = c.commands?.find((x) => x.name === w) as AtmosCommand;
    expect(c).toBeDefined();
    const allFlags: Record<string, string | boolean> = Object.fromEntries((c.flags ?? []).map((f) => [f.name, f.type === 'bool' ? false : '']));
    // Atmos's preCustomCommand: an omitted argument takes its default, and without one the command is refused.
    const argsData = Object.fromEntries(
      (c.arguments ?? []).map((a) => {
        const v = args[a.name] ?? a.default;
        expect(v, `argument ${a.name} omitted without a default: Atmos would refuse`).toBeDefined();
        return [a.name, v];
      }),
    );
    const data = { Arguments: argsData, Flags: { ...allFlags, ...flags }, TrailingArgs: '' };
    const opts = renderOptionsFor({ delimiters: ['{{', '}}'], env: {}, sprig: true, gomplate: true }, 'default');
    const vars = Object.fromEntries((c.env ?? []).map((e) => [e.key, renderTemplate(e.value, data, opts)]));
    const step = renderTemplate((c.steps ?? [])[0], data, opts);
    return execFileSync('bash', ['-c', step], { cwd: dir, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...vars, ...env }, encoding: 'utf8' });
  }

  it('forwards every argument and flag exactly: a hostile value stays one argument', () => {
    const bin = path.join(mkdtempSync(path.join(tmpdir(), 'atmos-pipe-bin-')), 'argv.sh');
    writeFileSync(bin, '#!/bin/sh\nnode -e \'console.log(JSON.stringify(process.argv.slice(1)))\' -- "$@"\n');
    chmodSync(bin, 0o755);
    const out = runAtmosStep(['rollout'], { deployment: 'hello' }, { target: `dev; touch pwned "$(id)"`, approve: true, 'no-fetch': true }, { ATMOS_PIPE_BIN: bin });
    expect(JSON.parse(out)).toEqual(['rollout', 'hello', '--target', `dev; touch pwned "$(id)"`, '--approve', '--no-fetch']);
    expect(listTree(dir).includes('pwned')).toBe(false);
    // `atmos deployment rollout --target dev`: the optional deployment omitted reaches atmos-pipe omitted.
    expect(JSON.parse(runAtmosStep(['rollout'], {}, { target: 'dev' }, { ATMOS_PIPE_BIN: bin }))).toEqual(['rollout', '--target', 'dev']);
    expect(JSON.parse(runAtmosStep(['history'], { deployment: 'hello' }, { limit: '5' }, { ATMOS_PIPE_BIN: bin }))).toEqual(['history', 'hello', '--limit', '5']);
    const vendor = runAtmosStep(['vendor', 'pull'], {}, {}, { ATMOS_PIPE_BIN: bin });
    expect(JSON.parse(vendor)).toEqual(['vendor', 'pull']);
  });

  it('runs atmos-pipe itself: `atmos deployment describe hello --target dev --format json`', () => {
    const out = runAtmosStep(['describe'], { deployment: 'hello' }, { target: 'dev', format: 'json' }, { ATMOS_PIPE_BIN: `${process.execPath} ${CLI}` });
    const d = JSON.parse(out);
    expect(d.deployment).toBe('hello');
    expect(d.components[0].vars.message).toBe('hello on dev');
  });
});

describe('the README', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = (title: string) => readme.slice(readme.indexOf(`## ${title}`), readme.indexOf('\n## ', readme.indexOf(`## ${title}`) + 3));
  const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]);

  it('its quick start works as written', () => {
    const [block] = blocks(section('Quick start (60 seconds)'), 'bash');
    const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-quickstart-'));
    let cwd = base;
    let ran = 0;
    for (const line of block
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean)) {
      const mk = line.match(/^mkdir (\S+) && cd (\S+)$/);
      if (mk) {
        cwd = path.join(base, mk[2]);
        execFileSync('mkdir', [path.join(base, mk[1])]);
        continue;
      }
      const words = line.split(/\s+/);
      expect(words[0]).toBe('atmos-pipe');
      const r = cli(words.slice(1), cwd);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      ran++;
    }
    expect(ran).toBe(4);
  });

  it('its "Coming from Atmos" commands work as written on an Atmos repository with that stack', () => {
    const [block] = blocks(section('Coming from Atmos'), 'bash');
    const dir = makeRepo(INHERITANCE);
    const lines = block
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const r = cli(line.split(/\s+/).slice(1), dir);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
  });

  it('its `atmos deployment` snippet is what init writes (each entry shown is in the generated block)', () => {
    const [snippet] = blocks(section('Coming from Atmos'), 'yaml');
    const shown = (parse(snippet) as { commands: AtmosCommand[] }).commands[0];
    const dir = emptyDir();
    cli(['init', '--name', 'hello', '--no-git'], dir);
    const real = deploymentCommand(readFileSync(path.join(dir, '.atmos.d/atmos-pipe.yaml'), 'utf8'));
    expect(shown.name).toBe(real.name);
    expect(shown.steps).toEqual(real.steps);
    for (const sub of shown.commands ?? []) {
      const r = real.commands?.find((c) => c.name === sub.name);
      expect(r, sub.name).toBeDefined();
      for (const f of sub.flags ?? []) expect(r?.flags).toContainEqual(f);
      for (const e of sub.env ?? []) expect(r?.env).toContainEqual(e);
      expect(r?.arguments).toEqual(sub.arguments);
      for (const w of (sub.steps?.[0] ?? '').split(' ').filter((x) => x !== '…')) expect(r?.steps?.[0]).toContain(w);
    }
  });
});
