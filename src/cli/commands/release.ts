import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class ReleaseCommand extends BaseCommand {
  static override paths = [['release']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Record a release of the working tree (shorthand for `run release`)',
    details: `
      A release is an immutable record of what would be deployed: commit and branch, the image digest of every nixpack component, SBOM and vendored digests, tool versions, annotations, who and when. Its id (\`r-\` + 12 hex) is derived from the artifacts and the commit only, so releasing the same thing twice gives the same id and changes nothing.

      A release is made only from a clean tree: when an input of the deployment (its file, the stack files it loads, module directories, service sources, atmos.yaml) differs from the commit, it is refused (exit 3) with the list of changed files, unless \`--allow-dirty\`, which records \`dirty: true\` and the digest of the changed files (a different id; a dirty release is never promoted).

      \`--id <id>\` names the release (e.g. v1.2.3) instead of the derived id, which the record keeps as \`content_id\`: giving the same id to the same content again changes nothing; an id that already names other content is refused (exit 3) and nothing is written. \`--context k=v\` overrides the target's context (as \`build\`, \`plan\` and \`rollout\` do); the overrides are recorded in the release and are part of its id, and every rollout of it applies them.

      Stored as the annotated tag \`atmos/releases/<d>/<id>\` whose message is the YAML record, and exported to \`<releases_path>/<d>/<t>/release-<id>.yaml\`. \`rollout\` creates the release itself before applying.
    `,
    examples: [
      ['Release the current commit for dev', '$0 release payment-service --target dev'],
      ['With annotations', '$0 release payment-service --target dev --annotation ticket=OPS-42 --annotation reason=hotfix'],
      ['With an id of your own', '$0 release payment-service --target dev --id v1.2.3'],
      ['With a context override (recorded; part of the release)', '$0 release payment-service --target dev --context cpu=512'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  annotation = Option.Array('--annotation', [], { description: 'k=v recorded in the release (repeatable)' });
  allowDirty = Option.Boolean('--allow-dirty', false, { description: 'Release inputs with uncommitted changes anyway, recorded as dirty (never promoted)' });
  push = Option.Boolean('--push', false, { description: 'Push the release tag to the tracking remote' });
  remote = Option.String('--remote', { description: 'Tracking remote for --push (default: deployments.tracking.remote, else origin)' });
  fetch = Option.Boolean('--fetch', true, { description: '--no-fetch: do not fetch the records of the tracking remote first (also ATMOS_PIPE_NO_FETCH=1)' });
  id = Option.String('--id', { description: 'Release id of your own (e.g. v1.2.3) instead of the derived r-<hex>; an id naming other content exits 3' });
  contextOverride = Option.Array('--context', [], { description: "k=v over the target's context (repeatable), recorded in the release and part of its id" });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { applyContextOverrides, parseAnnotations, pushRemoteOf } = await import('../options.js');
    const annotations = parseAnnotations(this.annotation, lib);
    if (this.id !== undefined) lib.checkReleaseIdArg(this.id);
    lib.parseContextOverrides(this.contextOverride); // a malformed one: exit 2 before any file is read
    const loaded = await this.deploymentAndTarget(this.deployment, this.target);
    const { repo, target } = loaded;
    const dep = await applyContextOverrides((d) => this.warn(d), lib, loaded, this.contextOverride);
    const { release } = await import('../../release/create.js');
    const r = await release(repo, dep, {
      target,
      annotations,
      pushRemote: pushRemoteOf(repo, this.push, this.remote),
      allowDirty: this.allowDirty,
      fetch: this.fetch,
      ...(this.id !== undefined ? { id: this.id } : {}),
    });
    await this.warn(r.warnings);
    const { reportRun } = await import('../render/ci.js');
    for (const w of reportRun(await this.ciProvider(), { kind: 'release', release: r }, undefined, await this.cwd()).warnings) this.context.stderr.write(`${w}\n`);
    const { releaseValue, renderRelease, pushFailed, renderPushFailure } = await import('../render/pipeline.js');
    await this.print(releaseValue(r), () => renderRelease(r));
    const { exitCode } = await import('../exit.js');
    if (!pushFailed(r.push)) return exitCode('success');
    this.context.stderr.write(renderPushFailure(r.push));
    return exitCode('failed');
  }
}
