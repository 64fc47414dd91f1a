/**
 * The arguments of `!terraform.output` / `!terraform.state`, parsed as Atmos
 * pkg/function/parser `ParseTerraform` parses them. Cases from Atmos
 * internal/exec/yaml_func_terraform_state_yq_defaults_test.go `TestParseTerraformStateArgs`.
 */
import { describe, expect, it } from 'vitest';
import { parseTerraformArgs } from '../../src/resolve/foreign-state.js';

describe('parseTerraformArgs', () => {
  it.each([
    ['legacy component and output', 'kms-key key_arn', { component: 'kms-key', expression: 'key_arn' }],
    ['legacy component stack and output', 'kms-key plat-ue2-prod key_arn', { component: 'kms-key', stack: 'plat-ue2-prod', expression: 'key_arn' }],
    ['single quoted expression with a default', `kms-key '.key_arn // "mock-value"'`, { component: 'kms-key', expression: '.key_arn // "mock-value"' }],
    ['whole YAML value quoted before parsing', 'kms-key .key_arn // "mock-value"', { component: 'kms-key', expression: '.key_arn // "mock-value"' }],
    ['stack with single quoted expression and a default', `kms-key plat-ue2-prod '.key_arn // "mock-value"'`, { component: 'kms-key', stack: 'plat-ue2-prod', expression: '.key_arn // "mock-value"' }],
  ])('%s', (_name, args, want) => {
    expect(parseTerraformArgs(args)).toEqual(want);
  });

  it('one argument, or a fourth that does not continue the expression, is an error (parser.go: "terraform function requires 2 or 3 arguments")', () => {
    expect(parseTerraformArgs('vpc')).toHaveProperty('error');
    expect(parseTerraformArgs('vpc stack output extra')).toHaveProperty('error');
    expect(parseTerraformArgs(`vpc 'unterminated`)).toHaveProperty('error');
  });
});
