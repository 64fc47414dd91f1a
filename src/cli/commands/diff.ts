import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class DiffCommand extends TrackingReadCommand {
  static override paths = [['diff']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Compare what runs in two targets of a deployment, or its configuration at two commits',
    details: `
      For every component: the commit and release running in \`--from-target\` and in \`--to-target\`, and whether they differ. Then how many commits the destination's commit is behind (and ahead of) the source's, the commit log between them (newest first, at most \`--limit\` entries), and the configuration files changed between the two commits (the deployment file, \`atmos.yaml\`, the stacks and the components directories).

      A target's commit is the one of its newest deployment that did not fail. A target that was never deployed is reported as such (null in JSON); the command still exits 0. \`--from-target\` defaults to the promotion source of \`--to-target\` when it has exactly one.

      Reads Git with a constant number of processes whatever the number of tags: one \`git for-each-ref\`, then \`git rev-list --count\`, \`git log\` and \`git diff --name-status\`.

      \`--from-sha a --to-sha b\` (b defaults to HEAD) compares the deployment's configuration at two commits instead: each commit's own files are checked out once (under \`.atmos/checkouts/\`) and resolved for every target (or \`--target\`), and every value of every component that differs is shown (\`vars.cpu: 256 → 512\`), with components added or removed, the commits between them and the configuration files changed.

      \`--component c\` (repeatable; address or bare name) keeps only those components. \`--show-files\` also lists every file that changed between the two commits, not only the configuration files.
    `,
    examples: [
      ['What staging has that prod does not', '$0 diff payment-service --from-target staging --to-target prod'],
      ['The promotion source of staging against staging', '$0 diff payment-service --to-target staging'],
      ['As JSON, with at most 10 commits', '$0 diff payment-service --from-target dev --to-target staging --limit 10 --format json'],
      ['The configuration of prod at two commits', '$0 diff payment-service --from-sha abc123 --to-sha def456 --target prod'],
      ['One component, with every changed file', '$0 diff payment-service --from-target prod --to-target staging --component api --show-files'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  fromTarget = Option.String('--from-target', { description: 'The source target (default: the promotion source of --to-target)' });
  toTarget = Option.String('--to-target', { description: 'The destination target (required unless --from-sha)' });
  fromSha = Option.String('--from-sha', { description: "Compare the deployment's resolved configuration at this commit…" });
  toSha = Option.String('--to-sha', { description: '…with this commit (default HEAD); needs --from-sha' });
  target = Option.String('-t,--target', { description: 'With --from-sha: only this target (default: every target)' });
  component = Option.Array('-c,--component', [], { description: 'Only this component (repeatable; address or bare name)' });
  showFiles = Option.Boolean('--show-files', false, { description: 'Also list every file that changed between the two commits' });
  showCode = Option.Boolean('--show-code', false, { description: "Also show each component's code changes (module directory, nixpack source) with the patch" });
  limit = Option.String('-n,--limit', { description: 'At most this many commits in the log (default 50)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    // Bad names on the command line are rejected before any file is read.
    for (const [flag, v] of [
      ['--from-target', this.fromTarget],
      ['--to-target', this.toTarget],
    ] as const) {
      const p = v === undefined ? undefined : checkKebabName(v);
      if (p) throw new lib.DiagnosticError(lib.error('args/target-name', `invalid ${flag} "${v}": ${p}`, undefined, 'targets look like dev, staging, prod'));
    }
    if (this.fromSha !== undefined || this.toSha !== undefined) return this.diffCommits();
    if (this.target !== undefined) throw new lib.DiagnosticError(lib.error('args/conflict', '--target belongs to --from-sha; compare two targets with --from-target and --to-target'));
    if (this.toTarget === undefined) {
      throw new lib.DiagnosticError(lib.error('args/to-target-required', '--to-target is required (or compare two commits with --from-sha)', undefined, 'e.g. --from-target staging --to-target prod'));
    }
    const toTarget = this.toTarget;
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const only = await this.componentNames(dep);
    const checkTarget = (flag: string, v: string) => {
      try {
        lib.checkTargetArg(dep, v);
      } catch (e) {
        if (!(e instanceof lib.DiagnosticError)) throw e;
        throw new lib.DiagnosticError(
          e.diagnostics.map((d) => ({ ...d, message: d.message.replace(/^--target /, `${flag} `) })),
          e.kind,
        );
      }
    };
    checkTarget('--to-target', toTarget);
    let from = this.fromTarget;
    if (from === undefined) {
      const sources = lib.promotionGraph(dep).targets.find((x) => x.name === toTarget)?.from ?? [];
      if (sources.length !== 1) {
        throw new lib.DiagnosticError(
          lib.error(
            'args/from-target-required',
            `--from-target is required: target "${toTarget}" of deployment "${dep.name}" has ${sources.length === 0 ? 'no promotion source' : `${sources.length} promotion sources`}`,
            undefined,
            `valid values: ${Object.keys(dep.body.targets).join(', ')}`,
          ),
        );
      }
      from = sources[0];
    } else checkTarget('--from-target', from);

    const configPaths = await this.configPaths(repo, dep);

    const { diffTargets } = await import('../../promotion/diff.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const d = await gitRead(async () =>
      diffTargets(await this.trackingStore(repo), dep.name, from!, toTarget, {
        configPaths,
        logLimit: this.limit ?? 50,
        invalid,
        showFiles: this.showFiles,
        ...(this.showCode ? { codePaths: await this.codePaths(repo, dep, toTarget, only) } : {}),
      }),
    );
    if (only) d.components = d.components.filter((x) => only.has(x.component));
    await this.warn(invalidTagWarnings(invalid));
    if (d.warnings.length && d.from.deployed && d.to.deployed) {
      await this.warn(d.warnings.map((w) => lib.warning('tracking/diff', w)));
    }
    const { renderTargetDiff } = await import('../render/diff.js');
    await this.print(d, (c) => renderTargetDiff(d, c, Date.now()));
    return 0;
  }

  /**
   * `--show-code`: each component's code as repository-relative directories (the Terraform
   * module directory, the nixpack or declared type's source), resolved for the destination target.
   */
  private async codePaths(
    repo: import('../../index.js').Repository,
    dep: import('../../config/deployment.js').DeploymentConfig,
    target: string,
    only: Set<string> | undefined,
  ): Promise<Record<string, string[]>> {
    const lib = await import('../../index.js');
    const path = await import('node:path');
    const resolved = await lib.resolve(repo, dep, target);
    const root = repo.config.repoRoot;
    const out: Record<string, string[]> = {};
    for (const c of resolved.components) {
      if (only && !only.has(c.name)) continue;
      const dirs = [c.moduleDir, c.sourceDir].filter((d): d is string => d !== undefined).map((d) => path.relative(root, d).split(path.sep).join('/'));
      // Code outside the repository (a vendored module in the cache) has no history here.
      out[c.name] = dirs.filter((d) => d !== '' && !d.startsWith('..') && !path.isAbsolute(d) && !d.startsWith('.atmos/'));
    }
    return out;
  }

  /** Repository-relative configuration paths: the deployment file, atmos.yaml, the stacks and the Terraform components. */
  private async configPaths(repo: import('../../index.js').Repository, dep: import('../../config/deployment.js').DeploymentConfig): Promise<string[]> {
    const path = await import('node:path');
    const root = repo.config.repoRoot;
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/') || '.';
    return [...new Set([dep.abs, ...(repo.config.configFile ? [repo.config.configFile] : []), repo.config.stacksBasePath, repo.config.terraformBasePath].map(rel))];
  }

  /**
   * `--component` as component names (what Git records: `ecr/api`), checked against the
   * deployment file's components (address or bare name; unknown: exit 2 with a suggestion);
   * undefined when not given.
   */
  private async componentNames(dep: import('../../config/deployment.js').DeploymentConfig): Promise<Set<string> | undefined> {
    if (this.component.length === 0) return undefined;
    const lib = await import('../../index.js');
    const { declaredAddresses } = await import('../../describe/list.js');
    const declared = declaredAddresses(dep);
    const out = new Set<string>();
    for (const w of this.component) {
      const hit = declared.filter((c) => c.address === w || c.name === w);
      if (hit.length === 0) {
        const all = declared.map((c) => c.address);
        const guess =
          lib.didYouMean(w, all) ??
          declared.find(
            (c) =>
              c.name ===
              lib.didYouMean(
                w,
                declared.map((x) => x.name),
              ),
          )?.address;
        throw new lib.DiagnosticError(
          lib.error('args/component', `--component ${w}: no such component in ${dep.name}`, undefined, `${guess ? `did you mean "${guess}"? ` : ''}(valid values: ${all.join(', ')})`),
        );
      }
      for (const h of hit) out.add(h.name);
    }
    return out;
  }

  /** `--from-sha a --to-sha b`: the deployment's resolved configuration at two commits. */
  private async diffCommits(): Promise<number> {
    const lib = await import('../../index.js');
    if (this.fromSha === undefined) throw new lib.DiagnosticError(lib.error('args/from-sha-required', '--to-sha needs --from-sha', undefined, 'e.g. --from-sha abc123 --to-sha def456'));
    for (const [flag, used] of [
      ['--from-target', this.fromTarget !== undefined],
      ['--to-target', this.toTarget !== undefined],
    ] as const) {
      if (used) throw new lib.DiagnosticError(lib.error('args/conflict', `${flag} compares targets; --from-sha compares commits: give one or the other`));
    }
    const { repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target, false);
    const only = await this.componentNames(dep);
    const { declaredAddresses } = await import('../../describe/list.js');
    const addresses = only
      ? declaredAddresses(dep)
          .filter((c) => only.has(c.name))
          .map((c) => c.address)
      : undefined;
    const { GitRepo } = await import('../../tracking/git.js');
    const { gitRead } = await import('../tracking-read.js');
    const { diffCommits } = await import('../../promotion/diff-commits.js');
    const git = new GitRepo(repo.config.repoRoot);
    const configPaths = await this.configPaths(repo, dep);
    const d = await gitRead(() =>
      diffCommits(repo, git, dep.name, this.fromSha as string, this.toSha ?? 'HEAD', {
        ...(this.target !== undefined ? { targets: [target] } : {}),
        ...(addresses ? { components: addresses } : {}),
        configPaths,
        logLimit: this.limit ?? 50,
        showFiles: this.showFiles,
      }),
    );
    const { renderCommitDiff } = await import('../render/diff.js');
    await this.print(d, (c) => renderCommitDiff(d, c));
    return 0;
  }
}
