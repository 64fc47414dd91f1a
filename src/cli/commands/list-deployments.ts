import { Command } from 'clipanion';
import { ListCommand } from './list.js';

export class ListDeploymentsCommand extends ListCommand {
  static override paths = [['list', 'deployments']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'List the deployments of this repository (the same as `list`)',
    examples: [
      ['List every deployment', '$0 list deployments'],
      ['As JSON', '$0 list deployments --format json'],
    ],
  });
}
