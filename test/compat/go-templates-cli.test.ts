/**
 * Go templates in stacks through the CLI: a deployment's component gets the evaluated values
 * (Atmos context included), and an unsupported template function is exit 2 at file:line:col.
 */
import { describe, expect, it } from 'vitest';
import { baseRepo, makeRepo, runCli } from '../helpers.js';

const ATMOS_YAML = [
  'components:',
  '  terraform:',
  '    base_path: components/terraform',
  'stacks:',
  '  base_path: stacks',
  'templates:',
  '  settings:',
  '    enabled: true',
  '    sprig: { enabled: true }',
  '    gomplate: { enabled: true }',
  '',
].join('\n');

/** The base repository's stack with `app`'s `cluster` var replaced. */
const stackWith = (cluster: string): string => baseRepo()['stacks/catalog/app.yaml'].replace('cluster: main', `cluster: '${cluster}'`);

describe('Go templates in stack manifests (CLI)', () => {
  it('describe shows the evaluated values', () => {
    const repo = makeRepo(baseRepo({ 'atmos.yaml': ATMOS_YAML, 'stacks/catalog/app.yaml': stackWith('{{ .atmos_component }}-{{ .vars.region | upper }}-{{ .atmos_stack }}') }));
    const r = runCli(['describe', 'shop', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(r.code, r.stderr).toBe(0);
    const app = JSON.parse(r.stdout).components.find((c: { address: string }) => c.address === 'terraform/app');
    // Atmos's stack name without name_pattern/name_template is the manifest path (catalog/app).
    expect(app.vars.cluster).toBe('app-US-EAST-1-catalog/app');
    expect(r.stderr).not.toContain('does not evaluate');
  });

  it('an unsupported function is exit 2 at the file, line and column of its value', () => {
    const repo = makeRepo(baseRepo({ 'atmos.yaml': ATMOS_YAML, 'stacks/catalog/app.yaml': stackWith('{{ atmos.Store "ssm" .atmos_stack "vpc" "id" }}') }));
    const r = runCli(['validate', 'shop', '-C', repo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stacks/catalog/app.yaml:9:18');
    expect(r.stderr).toContain('function "atmos.Store" not defined');
  });

  it('with templates disabled (an atmos.yaml without templates.settings.enabled), values stay as written, as in Atmos', () => {
    const repo = makeRepo(baseRepo({ 'stacks/catalog/app.yaml': stackWith('{{ .atmos_component }}') }));
    const r = runCli(['describe', 'shop', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).components.find((c: { address: string }) => c.address === 'terraform/app').vars.cluster).toBe('{{ .atmos_component }}');
  });
});
