/**
 * `vendor clean` asks before removing on a terminal (default no), `--force` does not ask, and
 * without a terminal it removes as it always did (CI).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, makeRepo, runCli } from '../helpers.js';

const DEPLOYMENT = [
  'deployment:',
  '  name: shop',
  '  vendor:',
  '    components:',
  '      - component: vpc',
  '        source: ./srcs/vpc',
  '  components:',
  '    terraform:',
  '      vpc: {}',
  '  targets:',
  '    dev: {}',
  '    prod: {}',
  '',
].join('\n');

/** A repository whose shop deployment has pulled its vendored module for dev and prod. */
function pulled(): string {
  const repo = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'srcs/vpc/main.tf': 'variable "cidr" { default = "10.0.0.0/16" }\n',
    'deployments/shop.yaml': DEPLOYMENT,
  });
  const r = runCli(['vendor', 'pull', '--deployment', 'shop', '-C', repo, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  expect(references(repo)).toBe(2);
  return repo;
}

function references(repo: string): number {
  const r = runCli(['vendor', 'cache', 'stats', '-C', repo, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { references: number }).references;
}

/** `vendor clean <args>` on a terminal (`script` gives it one), the answer typed ahead. */
function onTerminal(repo: string, args: string[], input: string) {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  const cmd = [process.execPath, CLI, 'vendor', 'clean', ...args, '-C', repo].map((w) => `'${w}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input, encoding: 'utf8', timeout: 120_000, env });
  expect(r.signal, 'vendor clean was killed (did it wait for input?)').toBeNull();
  return { code: r.status ?? -1, out: r.stdout };
}

describe('vendor clean', () => {
  it('on a terminal lists what it would remove and asks; "n", just Enter or Ctrl-D removes nothing', () => {
    const repo = pulled();
    for (const answer of ['n\n', '\n', '\x04']) {
      const r = onTerminal(repo, ['--deployment', 'shop'], answer);
      expect(r.code).toBe(0);
      expect(r.out).toContain('vendor clean will remove:');
      expect(r.out).toContain('links and lock of shop/dev');
      expect(r.out).toContain('links and lock of shop/prod');
      expect(r.out).toContain('Remove them? [y/N]');
      expect(r.out).toContain('nothing removed');
      expect(references(repo)).toBe(2);
    }
    // "y" removes what was listed.
    const yes = onTerminal(repo, ['--deployment', 'shop', '--target', 'dev'], 'y\n');
    expect(yes.code).toBe(0);
    expect(yes.out).toContain('removed links and locks of shop/dev');
    expect(references(repo)).toBe(1);
  });

  it('--force on a terminal removes without asking', () => {
    const repo = pulled();
    const r = onTerminal(repo, ['--deployment', 'shop', '--force'], '');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('Remove them?');
    expect(r.out).toContain('removed links and locks of shop/dev, shop/prod');
    expect(references(repo)).toBe(0);
  });

  it('without a terminal removes as before, asking nothing; --force parses there too', () => {
    const repo = pulled();
    const r = runCli(['vendor', 'clean', '--deployment', 'shop', '--target', 'dev', '-C', repo]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Remove them?');
    expect(r.stdout).toContain('removed links and locks of shop/dev');
    expect(references(repo)).toBe(1);
    const f = runCli(['vendor', 'clean', '--force', '-C', repo, '--format', 'json']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).removed_targets).toEqual(['shop/prod']);
    expect(references(repo)).toBe(0);
  });
});
