/**
 * `atmos-pipe init`: a new repository in an empty directory, or the missing pieces in an
 * existing one. Never overwrites: every file is either written (it did not exist) or skipped
 * (it did), and reported as such. The one file init rewrites is its own: the `deployment`
 * custom command in `.atmos.d/atmos-pipe.yaml` (src/onramp/atmos-command.ts), regenerated when
 * it changed; atmos.yaml is never edited.
 *
 * An existing Atmos repository (an atmos.yaml, or a stacks directory with stack files) gets
 * no sample stack, module or deployment (they would become a top-level stack of the user's
 * Atmos): only the custom command, a .gitignore when it has none, and the commands to run
 * next (`migrate --from-stack <one of its stacks>`).
 *
 * Git: a rollout records its release against a commit, so the quick start needs one. A
 * directory that is in no Git repository and was empty gets `git init` and a first commit of
 * the scaffold (`git: 'never'` opts out, `'always'` also initialises a non-empty directory);
 * inside an existing repository nothing is committed for the user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAtmosConfig } from '../config/atmos.js';
import { YamlFileCache } from '../config/files.js';
import { DiagnosticError } from '../diagnostics/index.js';
import { stackLoadOptions } from '../resolve/stack-config.js';
import { stackNames } from '../stacks/names.js';
import { ATMOS_COMMAND_FILE, type AtmosCommand, atmosCommandFile, deploymentDefinedIn } from './atmos-command.js';
import { GITIGNORE_ENTRIES, scaffoldFiles } from './scaffold.js';

export interface InitOptions {
  /** The directory to initialise (absolute). */
  dir: string;
  name: string;
  targets: string[];
  /** The Atmos custom command to write to .atmos.d/atmos-pipe.yaml (none: no file). */
  atmosCommand?: AtmosCommand;
  /** `auto` (default): init and commit only an empty directory outside any repository. */
  git?: 'auto' | 'always' | 'never';
  /** Report what would be written, write nothing. */
  dryRun?: boolean;
}

export type FileAction = 'wrote' | 'skipped' | 'updated' | 'would write' | 'would update';

export interface InitReport {
  /** `new`: scaffolded a repository; `atmos`: an existing Atmos repository was completed. */
  kind: 'new' | 'atmos';
  files: { path: string; action: FileAction; reason?: string }[];
  /** What Git was done (`initialised`, `committed`), or why not. */
  git: string[];
  /** Top-level stack files found (existing repositories). */
  stacks: string[];
  /** The commands to run next. */
  next: string[];
  warnings: string[];
}

/** Whether `dir` is inside a Git work tree. */
function inGitRepo(dir: string): boolean {
  try {
    return execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim() === 'true';
  } catch {
    return false;
  }
}

/** Stack files under the stacks directory (repository-relative), few enough to print. */
function stackFiles(dir: string, stacksDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (out.length > 200) return;
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      if (n.startsWith('.')) continue;
      if (/\.ya?ml$/.test(n)) out.push(path.relative(dir, p).split(path.sep).join('/'));
      else if (!n.includes('.')) walk(p);
    }
  };
  walk(path.join(dir, stacksDir));
  return out;
}

/** The stacks base path an existing atmos.yaml names (default `stacks`), read leniently. */
function stacksBase(text: string | undefined): string {
  const m = text?.match(/^stacks:\s*\n(?:[ \t]+.*\n)*?[ \t]+base_path:\s*["']?([^"'\n#]+?)["']?\s*(?:#.*)?$/m);
  return m?.[1]?.trim() || 'stacks';
}

/** Likely top-level stacks: stack files that no other stack file imports, catalog and mixin folders and `_defaults` left out. */
function topLevelStacks(files: string[]): string[] {
  return files.filter((f) => !/(^|\/)(catalog|mixins?|_defaults?)(\/|\.)/.test(f) && !/\/_/.test(f));
}

export function initRepository(o: InitOptions): InitReport {
  if (!existsSync(o.dir)) mkdirSync(o.dir, { recursive: true });
  const entries = readdirSync(o.dir).filter((n) => n !== '.git');
  const empty = entries.length === 0;
  const atmosPath = path.join(o.dir, 'atmos.yaml');
  const atmosText = existsSync(atmosPath) ? readFileSync(atmosPath, 'utf8') : undefined;
  const base = stacksBase(atmosText);
  const stacks = stackFiles(o.dir, base);
  const existingAtmos = atmosText !== undefined || stacks.length > 0;
  const report: InitReport = { kind: existingAtmos ? 'atmos' : 'new', files: [], git: [], stacks: [], next: [], warnings: [] };
  const wrote = (p: string) => report.files.push({ path: p, action: o.dryRun ? 'would write' : 'wrote' });

  const planned = scaffoldFiles({ name: o.name, targets: o.targets });
  const writes: { path: string; content: string }[] = [];
  for (const f of planned) {
    const abs = path.join(o.dir, f.path);
    const isAtmos = f.path === 'atmos.yaml';
    const isIgnore = f.path === '.gitignore';
    if (existingAtmos && !isAtmos && !isIgnore) continue; // no sample in someone's Atmos repository
    if (existsSync(abs)) {
      if (isIgnore) {
        const have = readFileSync(abs, 'utf8')
          .split('\n')
          .map((l) => l.trim());
        const missing = GITIGNORE_ENTRIES.filter((e) => !have.includes(e) && !have.includes(e.replace(/\/$/, '')));
        report.files.push({ path: f.path, action: 'skipped', reason: missing.length ? `exists; consider adding ${missing.join(', ')}` : 'exists' });
      } else if (!isAtmos) report.files.push({ path: f.path, action: 'skipped', reason: 'exists' });
      continue;
    }
    writes.push({ path: f.path, content: f.content });
    wrote(f.path);
  }
  if (atmosText !== undefined) report.files.push({ path: 'atmos.yaml', action: 'skipped', reason: 'exists' });
  // The custom command: its own file, rewritten only when what init generates changed.
  let commandFile: { content: string; exists: boolean } | undefined;
  if (o.atmosCommand) {
    const r = planCommandFile(o.dir, atmosText, o.atmosCommand);
    if ('skip' in r) {
      report.files.push({ path: ATMOS_COMMAND_FILE, action: 'skipped', reason: r.skip });
      if (r.warning) report.warnings.push(r.warning);
    } else if (r.exists && r.same) report.files.push({ path: ATMOS_COMMAND_FILE, action: 'skipped', reason: 'up to date' });
    else {
      commandFile = { content: r.content, exists: r.exists };
      if (r.exists) report.files.push({ path: ATMOS_COMMAND_FILE, action: o.dryRun ? 'would update' : 'updated', reason: 'regenerated the `atmos deployment` custom command' });
      else wrote(ATMOS_COMMAND_FILE);
    }
  }

  if (!o.dryRun) {
    for (const w of writes) {
      const abs = path.join(o.dir, w.path);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, w.content, { flag: 'wx' }); // never overwrite, even if it appeared meanwhile
    }
    if (commandFile) {
      const abs = path.join(o.dir, ATMOS_COMMAND_FILE);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, commandFile.content, { flag: commandFile.exists ? 'w' : 'wx' });
      if (!commandFile.exists) writes.push({ path: ATMOS_COMMAND_FILE, content: commandFile.content });
    }
  }

  // Git.
  const repo = inGitRepo(o.dir);
  const wantGit = o.git === 'always' || ((o.git ?? 'auto') === 'auto' && empty && !repo);
  if (o.git !== 'never' && !repo && wantGit && !o.dryRun) {
    gitRun(o.dir, ['init', '-q']);
    report.git.push('initialised a Git repository');
    gitRun(o.dir, ['add', '--', ...writes.map((w) => w.path)]);
    try {
      gitRun(o.dir, ['commit', '-q', '-m', `atmos-pipe init: deployment ${o.name}`]);
      report.git.push('committed the new files');
    } catch (e) {
      report.warnings.push(`git commit failed (${(e as Error).message.split('\n')[0]}); set user.name and user.email, then commit: a rollout records its release against a commit`);
    }
  } else if (o.git !== 'never' && !repo && !o.dryRun) {
    report.warnings.push('not a Git repository: run `git init && git add -A && git commit -m init` before a rollout (it records releases in Git), or `init --git`');
  }

  const cli = 'atmos-pipe';
  if (report.kind === 'new') {
    const first = o.targets[0];
    if (repo && writes.length) report.next.push(`git add ${writes.map((w) => w.path).join(' ')} && git commit -m "atmos-pipe init"`);
    report.next.push(`${cli} validate ${o.name}`, `${cli} rollout ${o.name} --target ${first}`);
    if (o.targets.length > 1) report.next.push(`${cli} rollout ${o.name} --target ${o.targets[1]} --promote-from ${first}${o.targets.length === 2 ? ' --approve' : ''}`);
    report.next.push(`${cli} status ${o.name}`);
  } else {
    const named = atmosStackNames(o.dir);
    report.stacks = named ?? topLevelStacks(stacks).map((f) => f.slice(base.length + 1).replace(/\.ya?ml$/, ''));
    const pick = report.stacks[0];
    if (pick) report.next.push(`${cli} migrate --from-stack ${pick} --name ${o.name} --dry-run`, `${cli} migrate --from-stack ${pick} --name ${o.name}`);
    else report.next.push(`${cli} migrate --from-stack <stack> --name ${o.name}`);
    const viaAtmos = report.files.some((f) => f.path === ATMOS_COMMAND_FILE && (f.action !== 'skipped' || f.reason === 'up to date' || f.reason?.startsWith(OLD_INIT)));
    report.next.push(`${cli} validate ${o.name}`, `${viaAtmos ? 'atmos deployment' : cli} describe ${o.name} --target dev`);
  }
  return report;
}

/**
 * The repository's top-level stacks by their Atmos names (atmos.yaml's included and excluded
 * paths, manifest `name:`, name_template, name_pattern), as `migrate --from-stack` takes them;
 * undefined when atmos.yaml or a stack cannot be read (the caller lists files instead).
 */
function atmosStackNames(dir: string): string[] | undefined {
  try {
    const cfg = loadAtmosConfig({ cwd: dir });
    const names = stackNames(stackLoadOptions(cfg), cfg.stackNaming, new YamlFileCache(cfg.repoRoot));
    return [...new Set(names.map((n) => n.name))].sort();
  } catch (e) {
    if (e instanceof DiagnosticError) return undefined;
    throw e;
  }
}

const OLD_INIT = 'an older atmos-pipe init';

/**
 * What to do with `.atmos.d/atmos-pipe.yaml`: its content and whether it exists (and is
 * already that), or why it is not written. A `deployment` command atmos.yaml or another
 * fragment defines is never doubled (Atmos would let one silently replace the other).
 */
function planCommandFile(dir: string, atmosText: string | undefined, command: AtmosCommand): { skip: string; warning?: string } | { content: string; exists: boolean; same: boolean } {
  if (atmosText !== undefined) {
    const d = deploymentDefinedIn(atmosText);
    if (d.status === 'invalid') return { skip: `atmos.yaml does not parse (${d.reason})`, warning: `atmos.yaml does not parse (${d.reason}): the \`atmos deployment\` custom command was not written` };
    if (d.status === 'old-init')
      return { skip: `${OLD_INIT} added the \`deployment\` command to atmos.yaml; left there (delete it from atmos.yaml and run init again to move it to ${ATMOS_COMMAND_FILE})` };
    if (d.status === 'defined')
      return {
        skip: 'atmos.yaml defines a `deployment` command',
        warning: `atmos.yaml already defines a \`deployment\` custom command: ${ATMOS_COMMAND_FILE} not written (it would be overridden by it)`,
      };
  }
  const abs = path.join(dir, ATMOS_COMMAND_FILE);
  for (const other of fragments(dir)) {
    if (other === ATMOS_COMMAND_FILE) continue;
    let d: ReturnType<typeof deploymentDefinedIn>;
    try {
      d = deploymentDefinedIn(readFileSync(path.join(dir, other), 'utf8'));
    } catch {
      continue;
    }
    if (d.status !== 'none' && d.status !== 'invalid')
      return { skip: `${other} defines a \`deployment\` command`, warning: `${other} already defines a \`deployment\` custom command: ${ATMOS_COMMAND_FILE} not written` };
  }
  const content = atmosCommandFile(command);
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(abs);
  } catch {
    st = undefined;
  }
  if (st && !st.isFile()) return { skip: 'not a regular file', warning: `${ATMOS_COMMAND_FILE} is not a regular file (a link or a directory): left as it is, the custom command not written` };
  const dirSt = existsSync(path.dirname(abs)) ? lstatSync(path.dirname(abs)) : undefined;
  if (dirSt && !dirSt.isDirectory()) return { skip: '.atmos.d is not a directory', warning: '.atmos.d exists and is not a directory: the `atmos deployment` custom command was not written' };
  return { content, exists: st !== undefined, same: st !== undefined && readFileSync(abs, 'utf8') === content };
}

/** The YAML files Atmos reads from `atmos.d/` and `.atmos.d/` beside atmos.yaml (repository-relative; see atmosCommandFile). */
function fragments(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string, depth: number) => {
    if (depth > 8) return;
    let names: string[];
    try {
      names = readdirSync(path.join(dir, rel)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const r = `${rel}/${n}`;
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(path.join(dir, r));
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(r, depth + 1);
      else if (/\.ya?ml$/.test(n)) out.push(r);
    }
  };
  walk('atmos.d', 0);
  walk('.atmos.d', 0);
  return out;
}

function gitRun(cwd: string, args: string[]): void {
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}
