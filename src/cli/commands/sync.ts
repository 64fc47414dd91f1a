import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class SyncCommand extends BaseCommand {
  static override paths = [['sync']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Fetch what runs where from the tracking remote',
    details: `
      Fetches the deployment refs (\`refs/atmos/deployments/*\`), the history and release tags (\`refs/tags/atmos/*\`) and the notes (\`refs/notes/atmos/*\`: approvals, SBOMs, test results) of the tracking remote in one \`git fetch\`, and takes them in without losing what this repository recorded and did not push yet: missing tags are created (tags are immutable: a different local tag is kept and reported), a deployment ref takes the remote's value unless the local one is a newer deployment, notes are merged (approvals line by line).

      Read commands, \`rollout\`, \`release\` and \`approve\` do the same by themselves, once per process, when a tracking remote is configured (\`deployments.tracking.remote\`, or \`--remote\`); \`--no-fetch\` or \`ATMOS_PIPE_NO_FETCH=1\` turns that off. A shallow clone (\`git clone --depth 1\`) fetches the records with \`--depth=1\`: the deployed and released commits arrive without the whole history.
    `,
    examples: [
      ['Fetch the records of deployments.tracking.remote (else origin)', '$0 sync'],
      ['From another remote, as JSON', '$0 sync --remote upstream --format json'],
    ],
  });

  remote = Option.String('--remote', { description: 'Remote to fetch from (default: deployments.tracking.remote, else origin)' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const repo = await this.repo();
    const { GitRepo, syncTracking } = await import('../../tracking/index.js');
    const { renderSync } = await import('../render/sync.js');
    const remote = this.remote ?? repo.config.trackingRemote ?? 'origin';
    // An unreachable remote or a damaged repository is the environment: exit 1, said as such.
    const report = await syncTracking(new GitRepo(repo.config.repoRoot), remote);
    await this.print(report, (c) => renderSync(report, c));
    return 0;
  }
}
