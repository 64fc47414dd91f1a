/**
 * What every command shares: global options, loading the repository, rendering output and
 * diagnostics, and turning errors into exit codes. Commands stay thin: they parse flags,
 * call the library and render.
 */
import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import type { Diagnostic } from '../diagnostics/index.js';
import type { Extensions } from '../extensions/index.js';
import type { Repository } from '../index.js';
import type { Colors, OutputFormat } from '../render/index.js';

export const FORMATS = ['table', 'json', 'yaml'] as const;

export abstract class BaseCommand extends Command {
  /**
   * The help section of this command's own options, by long name (e.g. `{ '--plan': 'Output' }`);
   * options shared by many commands have theirs in src/cli/spec.ts. Sections: src/cli/spec.ts GROUP_ORDER.
   */
  static optionGroups?: Record<string, string>;

  chdir = Option.String('-C,--chdir', { description: 'The repository directory (default: found from the working directory upward, like git)' });
  config = Option.String('--config', { description: "Path to atmos.yaml (default: the repository's)" });
  color = Option.String('--color', 'auto', {
    description: 'Colour output: auto (a terminal, unless NO_COLOR or TERM=dumb), always or never',
    validator: t.isEnum(['auto', 'always', 'never']),
  });
  verbose = Option.Boolean('-v,--verbose', false, { description: 'More detail, including stack traces of internal errors' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Only errors' });

  /** Output format of this command (commands declare their own `format` option). */
  protected outputFormat(): OutputFormat {
    return ((this as unknown as { format?: string }).format ?? 'table') as OutputFormat;
  }

  /** Asks yes/no on the terminal (anything but y or yes is no, the input closing too). */
  protected async confirm(question: string): Promise<boolean> {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: this.context.stderr as NodeJS.WritableStream });
    try {
      // The input closing (Ctrl-D) is an answer too: no.
      const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
      return /^y(es)?$/i.test((await Promise.race([rl.question(question), closed])).trim());
    } finally {
      rl.close();
    }
  }

  private readonly _colors = new Map<string, Colors>();
  /**
   * Colours for what goes to `stream` (stdout: results; stderr: progress and diagnostics):
   * `--color always|never`, else on a terminal (not TERM=dumb) unless NO_COLOR (FORCE_COLOR forces).
   */
  protected async colors(stream: 'stdout' | 'stderr' = 'stdout'): Promise<Colors> {
    let c = this._colors.get(stream);
    if (!c) {
      const { makeColors } = await import('../render/index.js');
      const env = process.env;
      const auto = !env.NO_COLOR && (env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : this.canRedraw(this.context[stream]));
      c = makeColors(this.color === 'always' ? true : this.color === 'never' ? false : auto);
      this._colors.set(stream, c);
    }
    return c;
  }

  /** A terminal that takes colours and cursor movement: a TTY whose TERM is not `dumb`. */
  protected canRedraw(stream: unknown): boolean {
    return Boolean((stream as NodeJS.WriteStream).isTTY) && process.env.TERM !== 'dumb';
  }

  private _repo?: Repository;
  /**
   * The repository (opened once): `--chdir` or `--config` name it; otherwise it is found from
   * the working directory upward, like Git (src/cli/discover.ts), and none found is exit 2.
   */
  protected async repo(): Promise<Repository> {
    if (this._repo) return this._repo;
    const { openRepository } = await import('../index.js');
    const path = await import('node:path');
    let cwd = path.resolve(this.chdir ?? process.cwd());
    if (this.chdir === undefined && this.config === undefined) {
      const { discoverRepository } = await import('./discover.js');
      const found = discoverRepository(cwd);
      if (found.root === undefined) {
        const { DiagnosticError, error } = await import('../diagnostics/index.js');
        const last = found.searched[found.searched.length - 1];
        throw new DiagnosticError(
          error(
            'args/no-repository',
            `not in an atmos-pipe repository: no atmos.yaml (or deployments/ directory) in ${cwd}${found.searched.length > 1 ? ` or any parent up to ${last}` : ''}`,
            undefined,
            'run it inside a repository (a directory with atmos.yaml, or below one), name one with --chdir <dir>, or create one here with `atmos-pipe init`',
          ),
        );
      }
      cwd = found.root;
    }
    this._repo = openRepository({ cwd, configPath: this.config });
    return this._repo;
  }

  /**
   * The built-in modules and pipelines with the repository's own and the remote modules its
   * pipelines and deployments' step hooks name (src/extensions); its notices (a remote module
   * pinned) are printed on stderr.
   */
  protected extensions(): Promise<Extensions> {
    // Once per command: loading compiles and imports the repository's modules.
    this._extensions ??= (async () => {
      const { loadExtensions } = await import('../extensions/index.js');
      const { pipelines } = await import('../../pipelines/index.js');
      const { builtinModules } = await import('../../modules/index.js');
      return loadExtensions(
        await this.repo(),
        { modules: builtinModules, pipelines },
        {
          hooks: true,
          emit: (e) => (e.type === 'notice' && !this.quiet ? this.context.stderr.write(`${e.message}\n`) : undefined),
        },
      );
    })();
    return this._extensions;
  }

  private _extensions?: Promise<Extensions>;

  /**
   * The repository with the modules its deployments may use (their component types are valid
   * under `components:`): what a command that loads a deployment opens. Loaded only then, so
   * the commands that read Git alone start without them.
   */
  protected async repoWithModules(): Promise<Repository> {
    return { ...(await this.repo()), modules: (await this.extensions()).modules };
  }

  /** Load a deployment (the only one when no name is given) and settle the target. */
  protected async deploymentAndTarget(name: string | undefined, target: string | undefined, requireTarget = true) {
    const lib = await import('../index.js');
    const repo = await this.repoWithModules();
    // A bad name on the command line is rejected before any file is read.
    if (name !== undefined) {
      const { checkKebabName } = await import('../config/names.js');
      const p = checkKebabName(name);
      if (p) throw new lib.DiagnosticError(lib.error('args/deployment-name', `invalid deployment name "${name}": ${p}`, undefined, 'deployment names look like "payment-service"'));
    }
    if (target !== undefined) {
      const { checkKebabName } = await import('../config/names.js');
      const p = checkKebabName(target);
      if (p) throw new lib.DiagnosticError(lib.error('args/target-name', `invalid --target "${target}": ${p}`, undefined, 'targets look like dev, staging, prod'));
    }
    const dep = lib.loadDeployment(repo, name);
    const t = target ?? lib.defaultTarget(dep);
    if (t === undefined && requireTarget) {
      throw new lib.DiagnosticError(
        lib.error(
          'args/target-required',
          `--target is required: deployment "${dep.name}" has ${Object.keys(dep.body.targets).length} targets and no context.default_target`,
          undefined,
          `valid values: ${Object.keys(dep.body.targets).join(', ')}`,
        ),
      );
    }
    if (t !== undefined) lib.checkTargetArg(dep, t);
    return { lib, repo, dep, target: t as string };
  }

  /**
   * For the read commands (status, history, releases): the deployment's name checked and its
   * file found, without loading the schema. `--target` is checked against the file's targets
   * (read as plain YAML); anything unusual falls back to the full, located validation.
   */
  protected async deploymentForReading(name: string | undefined, target: string | undefined): Promise<{ repo: Repository; name: string }> {
    if (name !== undefined || target !== undefined) {
      const { checkKebabName } = await import('../config/names.js');
      const { DiagnosticError, error } = await import('../diagnostics/index.js');
      const pn = name !== undefined ? checkKebabName(name) : undefined;
      if (pn) throw new DiagnosticError(error('args/deployment-name', `invalid deployment name "${name}": ${pn}`, undefined, 'deployment names look like "payment-service"'));
      const pt = target !== undefined ? checkKebabName(target) : undefined;
      if (pt) throw new DiagnosticError(error('args/target-name', `invalid --target "${target}": ${pt}`, undefined, 'targets look like dev, staging, prod'));
    }
    const repo = await this.repo();
    const { findDeploymentFile } = await import('../config/deployment-files.js');
    const f = findDeploymentFile(repo.config, name);
    if (target !== undefined) {
      let targets: string[] | undefined;
      try {
        const { readFileSync } = await import('node:fs');
        const { loadPlain } = await import('../yaml/plain.js');
        const doc = loadPlain(readFileSync(f.abs, 'utf8')) as { deployment?: { targets?: Record<string, unknown> } } | null;
        const t = doc?.deployment?.targets;
        if (t && typeof t === 'object' && !Array.isArray(t)) targets = Object.keys(t);
      } catch {
        // Unreadable or not YAML: the full validation below reports it, located.
        targets = undefined;
      }
      if (!targets?.includes(target)) await this.deploymentAndTarget(f.name, target, false); // throws the located error
    }
    return { repo, name: f.name };
  }

  /** The CI this command runs in (src/ci/provider.ts), for CI-native output. */
  protected async ciProvider(): Promise<import('../ci/provider.js').CiProviderId | undefined> {
    const { detectCi } = await import('../ci/provider.js');
    return detectCi(process.env)?.id;
  }

  /** The directory the command runs in (`--chdir`, else the working directory). */
  protected async cwd(): Promise<string> {
    const path = await import('node:path');
    return path.resolve(this.chdir ?? process.cwd());
  }

  /** Located errors for the CI: its annotations, and GitLab's code-quality report. */
  protected async reportToCi(diags: Diagnostic[]): Promise<void> {
    const ci = await this.ciProvider();
    if (!ci) return;
    const { reportDiagnostics } = await import('./render/ci.js');
    const r = reportDiagnostics(ci, diags, this.context.stderr, await this.cwd());
    for (const w of r.warnings) this.context.stderr.write(`${w}\n`);
  }

  protected write(text: string): void {
    this.context.stdout.write(text);
  }

  /** Print a value in the chosen format; `table` uses the given renderer. */
  protected async print(value: unknown, asTable: (c: Colors) => string): Promise<void> {
    const { toJson, toYaml } = await import('../render/index.js');
    const f = this.outputFormat();
    if (f === 'json') this.write(toJson(value));
    else if (f === 'yaml') this.write(toYaml(value));
    else this.write(asTable(await this.colors()));
  }

  protected async warn(diags: Diagnostic[]): Promise<void> {
    if (this.quiet || diags.length === 0) return;
    const { renderDiagnostic } = await import('../render/index.js');
    const c = await this.colors('stderr');
    const seen = new Set<string>();
    for (const d of diags) {
      const text = renderDiagnostic(d, c);
      if (seen.has(text)) continue;
      seen.add(text);
      this.context.stderr.write(text);
    }
  }

  abstract run(): Promise<number | void>;

  async execute(): Promise<number | void> {
    // Everything printed goes through the one masker (secret values, URL credentials).
    const { maskProcessOutput } = await import('../secrets/mask.js');
    maskProcessOutput();
    try {
      const code = await this.run();
      const { commitModuleCache } = await import('../hcl/index.js');
      if (!code) commitModuleCache();
      return code;
    } catch (e) {
      const { exitCodeOf } = await import('./exit.js');
      const { DiagnosticError } = await import('../diagnostics/index.js');
      if (e instanceof DiagnosticError) {
        const { renderDiagnostic } = await import('../render/index.js');
        const c = await this.colors('stderr');
        for (const d of e.diagnostics) this.context.stderr.write(renderDiagnostic(d, c));
        await this.reportToCi(e.diagnostics);
        return exitCodeOf(e);
      }
      const { classifyEnvironmentError } = await import('../diagnostics/environment.js');
      const env = classifyEnvironmentError(e);
      if (env) {
        // The machine, not the configuration and not a bug: what failed, where, and what to do.
        this.context.stderr.write(env.render());
        if (this.verbose && env.stack) this.context.stderr.write(`${(env.cause as Error | undefined)?.stack ?? env.stack}\n`);
        return exitCodeOf(env);
      }
      const err = e as Error;
      this.context.stderr.write(`atmos-pipe: internal error: ${err?.message ?? String(e)}\n`);
      if (this.verbose && err?.stack) this.context.stderr.write(`${err.stack}\n`);
      else this.context.stderr.write('  this is a bug; re-run with --verbose for details\n');
      return exitCodeOf(e);
    }
  }
}
