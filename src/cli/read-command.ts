/**
 * What the read commands (status, history, releases, diff, promotion-status,
 * promotion-graph) share: they fetch the records of the tracking remote first, so a fresh CI
 * clone shows what runs where, and say so when the remote cannot be read.
 */
import { Option } from 'clipanion';
import type { Repository } from '../index.js';
import type { GitRepo } from '../tracking/git.js';
import { BaseCommand } from './base.js';

export abstract class TrackingReadCommand extends BaseCommand {
  fetch = Option.Boolean('--fetch', true, { description: '--no-fetch: show the local records without fetching the tracking remote first (also ATMOS_PIPE_NO_FETCH=1)' });
  remote = Option.String('--remote', { description: 'Fetch the records from this remote first (default: deployments.tracking.remote; none: local records only)' });

  /** The tracking store of `repo`, the remote's records fetched first (once per process). */
  protected async trackingStore(repo: Repository): Promise<GitRepo> {
    const { readTracking } = await import('./tracking-read.js');
    const { git, warnings } = await readTracking(repo, { fetch: this.fetch, remote: this.remote });
    await this.warn(warnings);
    return git;
  }
}
