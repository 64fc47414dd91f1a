import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

export class CiGenerateCommand extends BaseCommand {
  static override paths = [['ci', 'generate']];
  static override usage = Command.Usage({
    category: 'CI',
    description: 'Write a GitHub Actions workflow or a GitLab CI pipeline that runs a deployment',
    details: `
      Writes a workflow (\`github\`) or pipeline (\`gitlab\`) whose jobs only call atmos-pipe: \`validate\`, \`build\` and \`test\` (when the deployment builds images), \`release\`, then a rollout job per target, each needing the rollout of the target it is promoted from (or, with \`--waves\`, a job per wave of the component graph). Rollouts run only on \`--branch\`, one per target at a time (a GitHub concurrency group, a GitLab resource group), in a CI environment named after the target; the cache (\`.atmos/cache\` and the built images, never Terraform state) is keyed by the digests of the lock files.

      A target with \`requires_approval\` is rolled out with \`--approve --approver <the CI's actor>\`: the job runs only after the CI's own protected context lets it (a GitHub environment's required reviewers; a manual job in a GitLab protected environment), and atmos-pipe records that approval.

      The default file is \`.github/workflows/atmos-pipe-<deployment>.yml\` or \`.gitlab/atmos-pipe-<deployment>.gitlab-ci.yml\` (\`--output -\`: stdout). Regenerating an unchanged deployment gives the same bytes. \`--check\` writes nothing and exits 1 when the file differs from what would be generated (a stale file, not a configuration error), with a summary of the difference.
    `,
    examples: [
      ['A GitHub Actions workflow', '$0 ci generate github payment-service'],
      ['A GitLab pipeline for dev and staging only', '$0 ci generate gitlab payment-service --target dev --target staging --output .gitlab-ci.yml'],
      ['Fail when the committed workflow is stale', '$0 ci generate github payment-service --check'],
    ],
  });

  kind = Option.String({ name: 'github|gitlab', validator: t.isEnum(['github', 'gitlab']) });
  deployment = Option.String({ name: 'deployment' });
  target = Option.Array('-t,--target', [], { description: 'Roll out only these targets (repeatable; default: every target)' });
  output = Option.String('-o,--output', { description: "The file to write (default: the CI's usual place; - for stdout)" });
  check = Option.Boolean('--check', false, { description: 'Write nothing; exit 1 when the file is not what would be generated' });
  branch = Option.String('--branch', 'main', { description: 'The branch whose pushes release and roll out' });
  waves = Option.Boolean('--waves', false, { description: 'One rollout job per wave of components (matrix --waves) instead of one per target' });
  atmosPipe = Option.String('--atmos-pipe', { description: 'How the jobs run atmos-pipe (default: npx --yes atmos-pipe@<this version>)' });
  image = Option.String('--image', { description: "gitlab: the jobs' image (default: the runner's)" });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    if (this.image !== undefined && this.kind !== 'gitlab') throw new lib.DiagnosticError(lib.error('args/ci-image', '--image is for gitlab: a GitHub job runs on its runner'));
    if (this.check && this.output === '-') throw new lib.DiagnosticError(lib.error('args/conflict', '--check compares a file: give its --output, not -'));
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    for (const t of this.target) lib.checkTargetArg(dep, t);
    const targets = Object.keys(dep.body.targets).filter((t) => this.target.length === 0 || this.target.includes(t));
    const resolved = new Map<string, Awaited<ReturnType<typeof lib.resolve>>>();
    for (const t of targets) {
      const r = await lib.resolve(repo, dep, t);
      await this.warn(r.warnings);
      resolved.set(t, r);
    }
    const { generateCi, defaultCiFile } = await import('../../ci/generate.js');
    const { shellWord } = await import('../../ci/pipeline.js');
    const { VERSION } = await import('../../version.js');
    const kind = this.kind as 'github' | 'gitlab';
    const output = this.output ?? defaultCiFile(kind, dep.name);
    const flags = [
      ...targets.flatMap((t) => (this.target.length ? ['--target', t] : [])),
      ...(this.output !== undefined && this.output !== '-' ? ['--output', this.output] : []),
      ...(this.branch !== 'main' ? ['--branch', this.branch] : []),
      ...(this.waves ? ['--waves'] : []),
      ...(this.atmosPipe !== undefined ? ['--atmos-pipe', this.atmosPipe] : []),
      ...(this.image !== undefined ? ['--image', this.image] : []),
    ];
    const cfg = repo.config;
    const text = generateCi(
      kind,
      dep,
      resolved,
      { repoRoot: cfg.repoRoot, cacheDir: cfg.cacheDir, terraformVersion: cfg.tools.terraform.version },
      {
        targets,
        command: this.atmosPipe ?? `npx --yes atmos-pipe@${VERSION}`,
        branch: this.branch,
        waves: this.waves,
        image: this.image,
        output,
        flags,
      },
    );
    if (output === '-') {
      this.write(text);
      return 0;
    }
    const path = await import('node:path');
    // The default place is in the repository (found from a subdirectory too); a given --output is relative to where you are.
    const file = path.resolve(this.output === undefined ? cfg.repoRoot : await this.cwd(), output);
    if (this.check) {
      const { existsSync, readFileSync } = await import('node:fs');
      const { compareGenerated } = await import('../../ci/stale.js');
      const r = compareGenerated(existsSync(file) ? readFileSync(file, 'utf8') : undefined, text);
      const { exitCode } = await import('../exit.js');
      if (r.current) {
        if (!this.quiet) this.write(`${output} is current\n`);
        return exitCode('success');
      }
      this.context.stderr.write(
        `${output} is stale: it is not what \`ci generate ${kind} ${dep.name}\` writes now\n${r.summary.map((l) => `  ${l}\n`).join('')}  regenerate it: ${['atmos-pipe', 'ci', 'generate', kind, dep.name, ...flags].map(shellWord).join(' ')}\n`,
      );
      return exitCode('failed');
    }
    const { writeOutputFile } = await import('../../output/file.js');
    writeOutputFile(file, text);
    if (!this.quiet) this.write(`wrote ${output}\n`);
    return 0;
  }
}
