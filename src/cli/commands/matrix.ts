import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

export class MatrixCommand extends BaseCommand {
  static override paths = [['matrix']];
  static override usage = Command.Usage({
    category: 'CI',
    description: 'Print a CI matrix of the components of a deployment',
    details: `
      Prints \`{"include":[{"component","wave","depends_on"}]}\`, ready for a GitHub Actions \`strategy.matrix\` (\`fromJSON(...)\`). With \`--waves\`, prints one matrix per wave: \`{"waves":[{"wave":0,"include":[...]}, ...]}\`, so each wave can be a job that \`needs\` the previous one.

      \`--components a,b\` (comma-separated, repeatable; addresses or bare names) keeps only those components; each keeps its wave and all its dependencies in \`depends_on\`, also those outside the matrix. An unknown one is a usage error (exit 2) with a suggestion. \`--format json\` (the default) prints one line of JSON, \`yaml\` the same value as YAML.
    `,
    examples: [
      ['Matrix for dev', '$0 matrix payment-service --target dev'],
      ['One matrix per wave', '$0 matrix payment-service --target prod --waves --format json'],
      ['Only two components', '$0 matrix payment-service --target prod --components ecr/api,ecs/service-api'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  waves = Option.Boolean('--waves', false, { description: 'One matrix per wave' });
  components = Option.Array('--components', [], { description: 'Only these components (comma-separated, repeatable; address or bare name)' });
  format = Option.String('-f,--format', 'json', { description: 'json (one line, the default) or yaml', validator: t.isEnum(['json', 'yaml']) });

  async run(): Promise<number> {
    const { lib, repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const resolved = await lib.resolve(repo, dep, target);
    await this.warn(resolved.warnings);
    const wanted = this.components.flatMap((c) => c.split(',')).map((c) => c.trim());
    if (wanted.some((c) => c === ''))
      throw new lib.DiagnosticError(lib.error('args/components', `--components "${this.components.join(',')}" names an empty component`, undefined, 'e.g. --components ecr/api,ecs/service-api'));
    let only: Set<string> | undefined;
    if (wanted.length) {
      const { selectComponents } = await import('../../run/index.js');
      only = selectComponents(resolved, wanted, false, undefined, '--components');
    }
    const value = this.waves ? lib.matrixByWave(resolved, only) : lib.matrix(resolved, only);
    if (this.format === 'yaml') {
      const { toYaml } = await import('../../render/index.js');
      this.write(toYaml(value));
    } else this.write(`${JSON.stringify(value)}\n`);
    return 0;
  }
}
