/**
 * The store: cache stats (size, objects, references, deduplication savings), clean and
 * prune, through the CLI.
 */
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

const A_MAIN = 'variable "cidr" { default = "10.0.0.0/16" }\n';
const A_README = '# vpc A\n'.repeat(10);
const B_MAIN = 'variable "cidr" { default = "10.1.0.0/16" }\nvariable "ipv6" { default = false }\n';
const SA = A_MAIN.length + A_README.length;
const SB = B_MAIN.length;

function dep(name: string, withProd: boolean): string {
  return [
    'deployment:',
    `  name: ${name}`,
    '  vendor:',
    '    components:',
    '      - component: vpc',
    '        source: ./srcs/vpc-a',
    ...(withProd ? ['      - component: vpc', '        source: ./srcs/vpc-b', '        labels: { environment: prod }'] : []),
    '  components:',
    '    terraform:',
    '      vpc: {}',
    '  targets:',
    '    dev: {}',
    ...(name === 'shop' ? ['    staging: {}', '    prod:', '      labels: { environment: prod }'] : []),
    '',
  ].join('\n');
}

const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

interface Stats {
  size: number;
  objects: number;
  references: number;
  unreferenced: number;
  logical_size: number;
  deduplication_savings: number;
  copied_files: number;
}

describe('vendor store', () => {
  it('cache stats count objects, references and what hard links save; clean and prune remove what they should', () => {
    const repo = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'srcs/vpc-a/main.tf': A_MAIN,
      'srcs/vpc-a/README.md': A_README,
      'srcs/vpc-b/main.tf': B_MAIN,
      'deployments/shop.yaml': dep('shop', true),
      'deployments/blog.yaml': dep('blog', false),
    });
    const C = ['-C', repo, '--format', 'json'];
    const empty = json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]));
    expect(empty).toMatchObject({ size: 0, objects: 0, references: 0, deduplication_savings: 0 });

    json(runCli(['vendor', 'pull', '--deployment', 'shop', ...C]));
    json(runCli(['vendor', 'pull', '--deployment', 'blog', ...C]));
    // dev, staging (shop) and dev (blog) share object A; prod has B.
    expect(json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]))).toMatchObject({
      size: SA + SB,
      objects: 2,
      references: 4,
      unreferenced: 0,
      logical_size: 3 * SA + SB,
      deduplication_savings: 2 * SA,
      copied_files: 0,
    });
    const table = runCli(['vendor', 'cache', 'stats', '-C', repo]);
    expect(table.stdout).toMatch(new RegExp(`^size\\s+\\S+ \\S+ \\(${SA + SB} bytes\\)$`, 'm'));
    expect(table.stdout).toMatch(/^references\s+4$/m);
    expect(table.stdout).toMatch(new RegExp(`^deduplication savings\\s+\\S+ \\S+ \\(${2 * SA} bytes\\)$`, 'm'));

    // clean one deployment: its links and lock go, the objects stay.
    const c1 = json<{ removed_targets: string[]; pruned_objects: string[] }>(runCli(['vendor', 'clean', '--deployment', 'blog', ...C]));
    expect(c1).toMatchObject({ removed_targets: ['blog/dev'], pruned_objects: [] });
    expect(existsSync(path.join(repo, '.atmos/cache/vendor/deployments/blog'))).toBe(false);
    expect(json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]))).toMatchObject({ objects: 2, references: 3, deduplication_savings: SA });

    // prod no longer pins B: B is unreferenced, but recent, so --older-than keeps it.
    writeFileSync(path.join(repo, 'deployments/shop.yaml'), dep('shop', false));
    json(runCli(['vendor', 'pull', '--deployment', 'shop', '--target', 'prod', ...C]));
    expect(json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]))).toMatchObject({ objects: 2, references: 3, unreferenced: 1, size: SA + SB, deduplication_savings: 2 * SA });
    expect(json<{ pruned_objects: string[] }>(runCli(['vendor', 'clean', '--prune', '--older-than', '30d', ...C])).pruned_objects).toEqual([]);

    // Unused for 40 days: pruned. A is as old but referenced: kept.
    const objects = path.join(repo, '.atmos/cache/vendor/objects/sha256');
    const old = new Date(Date.now() - 40 * 86400_000);
    for (const o of readdirSync(objects)) utimesSync(path.join(objects, o), old, old);
    const pruned = json<{ pruned_objects: string[]; freed_bytes: number; removed_targets: string[] }>(runCli(['vendor', 'clean', '--prune', '--older-than', '30d', ...C]));
    expect(pruned.pruned_objects).toHaveLength(1);
    expect(pruned.freed_bytes).toBe(SB);
    expect(pruned.removed_targets).toEqual([]);
    expect(json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]))).toMatchObject({ objects: 1, references: 3, unreferenced: 0, size: SA });
    const status = json<{ target: string; state: string }[]>(runCli(['vendor', 'status', '--deployment', 'shop', ...C]));
    expect(status.map((s) => s.state)).toEqual(['ok', 'ok', 'ok']);

    // clean everything: links and locks go; the store keeps the object until pruned.
    const all = json<{ removed_targets: string[] }>(runCli(['vendor', 'clean', ...C]));
    expect(all.removed_targets).toEqual(['shop/dev', 'shop/prod', 'shop/staging']);
    expect(json<Stats>(runCli(['vendor', 'cache', 'stats', ...C]))).toMatchObject({ objects: 1, references: 0, unreferenced: 1 });
    expect(json<{ state: string }[]>(runCli(['vendor', 'status', '--deployment', 'shop', ...C])).map((s) => s.state)).toEqual(['missing', 'missing', 'missing']);
    expect(json<{ pruned_objects: string[] }>(runCli(['vendor', 'clean', '--prune', ...C])).pruned_objects).toHaveLength(1);
    expect(readdirSync(objects)).toEqual([]);
    expect(statSync(path.join(repo, 'srcs/vpc-a/main.tf')).isFile()).toBe(true);
  });

  it('rejects bad arguments with exit 2', () => {
    const repo = makeRepo({ 'atmos.yaml': '' });
    const r1 = runCli(['vendor', 'clean', '--older-than', '30d', '-C', repo]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('--older-than only applies with --prune');
    const r2 = runCli(['vendor', 'clean', '--prune', '--older-than', 'a month', '-C', repo]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('--older-than "a month" is not a duration');
    const r3 = runCli(['vendor', 'clean', '--deployment', 'Bad_Name', '-C', repo]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('invalid --deployment "Bad_Name"');
  });
});
