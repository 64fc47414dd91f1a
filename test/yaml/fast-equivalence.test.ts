/**
 * The fast path (js-yaml + listener) must give exactly what the careful path (the `yaml`
 * library) gives: same values, same positions for every container and entry. Checked on
 * every YAML file of the repository (example, fixtures) and on tricky snippets.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { locsOf, parseYaml, parseYamlCarefully } from '../../src/yaml/index.js';
import { ROOT } from '../helpers.js';

function positions(v: unknown, p = '$', out: Record<string, string> = {}, seen = new Set<object>()): Record<string, string> {
  if (v === null || typeof v !== 'object' || seen.has(v)) return out;
  seen.add(v);
  const l = locsOf(v);
  if (l) out[p] = `${l.self.line}:${l.self.col}`;
  for (const k of Array.isArray(v) ? v.map((_x, i) => i) : Object.keys(v)) {
    const kl = l?.keys.get(k);
    const vl = l?.values.get(k);
    out[`${p}.${k}#key`] = kl ? `${kl.line}:${kl.col}` : '-';
    out[`${p}.${k}#value`] = vl ? `${vl.line}:${vl.col}` : '-';
    positions((v as Record<string, unknown>)[k as string], `${p}.${k}`, out, seen);
  }
  return out;
}

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (n === 'node_modules' || n === '.atmos') continue;
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml(\.tmpl)?$/.test(n)) out.push(p);
  }
  return out;
}

const snippets: Record<string, string> = {
  'flow map with a value-less key': 'a: {x, y: 1}\n',
  'empty values': 'a:\nb: 2\nc:\n  d:\n',
  'comments and document marker': '# head\n---\n# more\na: 1 # trailing\nb:\n  # inside\n  - x\n  -   y\n',
  'nested sequences of maps': 'list:\n  - name: a\n    vals: [1, 2]\n  - name: b\n    vals:\n      - 3\n',
  'quoted keys and scalars': '"a b": \'c\'\n? d\n: e\n',
  'anchors and merge keys': 'base: &b\n  x: 1\n  y: 2\nc:\n  <<: *b\n  y: 3\nd: &n !!str 5\n',
  'block scalars': 'a: |\n  line1\n  line2\nb: >-\n  folded\nc: 1\n',
  'yaml functions': 'a: !env HOME\nb: !terraform.output vpc vpc_id\nc: !include\n  - x\n',
  'yaml functions without an argument and !literal': 'a: !repo-root\nb: !cwd\nc: !literal "{{ .x }}"\nd:\n  - !env HOME\n',
};

describe('fast YAML path equals the careful path', () => {
  const files = [...yamlFiles(path.join(ROOT, 'examples')), ...yamlFiles(path.join(ROOT, 'test/fixtures')), ...yamlFiles(path.join(ROOT, 'test/compat'))];
  it(`covers the repository's YAML files (${files.length})`, () => {
    expect(files.length).toBeGreaterThan(50);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const careful = parseYamlCarefully(text, 'f.yaml', { detectGoTemplates: true });
      if (careful.diagnostics.length) continue;
      const fast = parseYaml(text, 'f.yaml', { detectGoTemplates: true });
      expect(fast.value, f).toEqual(careful.value);
      expect(positions(fast.value), f).toEqual(positions(careful.value));
      expect(fast.goTemplates, f).toEqual(careful.goTemplates);
    }
  });
  for (const [name, text] of Object.entries(snippets)) {
    it(name, () => {
      const careful = parseYamlCarefully(text, 'f.yaml');
      const fast = parseYaml(text, 'f.yaml');
      expect(careful.diagnostics).toEqual([]);
      expect(fast.value).toEqual(careful.value);
      expect(positions(fast.value)).toEqual(positions(careful.value));
      expect(fast.yamlFunctions).toEqual(careful.yamlFunctions);
    });
  }
});
