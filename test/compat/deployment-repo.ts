/**
 * A small repository re-creating an Atmos scenario in atmos-pipe's layout: the scenario's stack
 * files, a deployment `d` (target `t`) listing its top-level stack and deploying some of its
 * components, and mock modules. Resolved through the library as `describe` shows it.
 */
import { describe as describeDeployment, loadDeployment, openRepository, resolve } from '../../src/index.js';
import { makeRepo } from '../helpers.js';

const MOCK_TF = 'variable "enabled" { default = true }\nvariable "environment" { default = "" }\n';

export interface ScenarioRepo {
  /** Lines under atmos.yaml `stacks:` (name_pattern, name_template). */
  stacksConfig?: string[];
  /** Lines under atmos.yaml `components.terraform:`. */
  terraform?: string[];
  /** Top-level atmos.yaml lines (e.g. `settings:`). */
  atmos?: string[];
  /** Stack files (under stacks/) as lines. */
  stacks: Record<string, string[]>;
  /** The deployment's stack. */
  stack: string;
  /** The components it deploys. */
  components: string[];
}

export function scenarioRepo(opts: ScenarioRepo): string {
  const files: Record<string, string> = {
    'atmos.yaml': [
      'components:',
      '  terraform:',
      '    base_path: components/terraform',
      ...(opts.terraform ?? []),
      'stacks:',
      '  base_path: stacks',
      ...(opts.stacksConfig ?? []),
      ...(opts.atmos ?? []),
      '',
    ].join('\n'),
    'components/terraform/mock/main.tf': MOCK_TF,
    // The complete scenario's components/terraform/test/test-component and top-level-component1.
    'components/terraform/test/test-component/main.tf': MOCK_TF,
    'components/terraform/top-level-component1/main.tf': MOCK_TF,
    'deployments/d.yaml': [
      'deployment:',
      '  name: d',
      `  stacks: [${opts.stack}]`,
      '  components:',
      '    terraform:',
      ...opts.components.map((c) => `      ${JSON.stringify(c)}: {}`),
      '  targets:',
      '    t: {}',
      '',
    ].join('\n'),
  };
  for (const [p, lines] of Object.entries(opts.stacks)) files[`stacks/${p}`] = [...lines, ''].join('\n');
  return makeRepo(files);
}

/** Resolve `d` for `t`: the resolution, its description, and the described components by name. */
export async function resolveScenario(dir: string) {
  const repository = openRepository({ cwd: dir });
  const r = await resolve(repository, loadDeployment(repository, 'd'), 't', { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } });
  const d = describeDeployment(r);
  return { r, d, byName: Object.fromEntries(d.components.map((c) => [c.name, c])) };
}
