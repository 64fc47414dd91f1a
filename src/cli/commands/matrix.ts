import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base.js';

export class MatrixCommand extends BaseCommand {
  static override paths = [['matrix']];
  static override usage = Command.Usage({
    category: 'CI',
    description: 'Print a CI matrix of the components of a deployment',
    details: `
      Prints \`{"include":[{"component","wave","depends_on"}]}\`, ready for a GitHub Actions \`strategy.matrix\` (\`fromJSON(...)\`). With \`--waves\`, prints one matrix per wave: \`{"waves":[{"wave":0,"include":[...]}, ...]}\`, so each wave can be a job that \`needs\` the previous one.
    `,
    examples: [
      ['Matrix for dev', '$0 matrix payment-service --target dev'],
      ['One matrix per wave', '$0 matrix payment-service --target prod --waves'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  waves = Option.Boolean('--waves', false, { description: 'One matrix per wave' });

  async run(): Promise<number> {
    const { lib, repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const resolved = await lib.resolve(repo, dep, target);
    await this.warn(resolved.warnings);
    const value = this.waves ? lib.matrixByWave(resolved) : lib.matrix(resolved);
    this.write(`${JSON.stringify(value)}\n`);
    return 0;
  }
}
