import { describe, expect, it } from 'vitest';
import { keyLocOf, locOf, parseYaml } from '../../src/yaml/index.js';
import { deepMerge } from '../../src/stacks/merge.js';

describe('located YAML', () => {
  it('records where every key and value is', () => {
    const r = parseYaml('a:\n  b: 1\n  c: [x, y]\n', 'f.yaml');
    expect(r.diagnostics).toEqual([]);
    const v = r.value as { a: { b: number; c: string[] } };
    expect(locOf(v, 'a')).toEqual({ file: 'f.yaml', line: 2, col: 3 });
    expect(locOf(v.a, 'b')).toEqual({ file: 'f.yaml', line: 2, col: 6 });
    expect(keyLocOf(v.a, 'c')).toEqual({ file: 'f.yaml', line: 3, col: 3 });
    expect(locOf(v.a.c, 1)).toEqual({ file: 'f.yaml', line: 3, col: 10 });
  });

  it('keeps positions through a deep merge (the later value wins and so does its origin)', () => {
    const a = parseYaml('vars:\n  x: 1\n  y: 2\n', 'a.yaml').value as Record<string, Record<string, unknown>>;
    const b = parseYaml('vars:\n  y: 3\n', 'b.yaml').value as Record<string, Record<string, unknown>>;
    const m = deepMerge(a, b) as Record<string, Record<string, unknown>>;
    expect(m.vars).toEqual({ x: 1, y: 3 });
    expect(locOf(m.vars, 'x')?.file).toBe('a.yaml');
    expect(locOf(m.vars, 'y')).toEqual({ file: 'b.yaml', line: 2, col: 6 });
  });

  it('supports merge keys, explicit keys winning', () => {
    const r = parseYaml('base: &b { x: 1, y: 2 }\nc:\n  <<: *b\n  y: 3\n', 'f.yaml');
    expect((r.value as Record<string, unknown>).c).toEqual({ x: 1, y: 3 });
  });

  it('passes Atmos YAML functions through unchanged and records where they are', () => {
    const r = parseYaml('a: !env HOME\nb: !terraform.output vpc vpc_id\n', 'f.yaml');
    expect(r.value).toEqual({ a: '!env HOME', b: '!terraform.output vpc vpc_id' });
    expect(r.yamlFunctions.map((l) => l.line)).toEqual([1, 2]);
  });

  it('reports duplicate keys at the duplicate', () => {
    const r = parseYaml('a: 1\nb: 2\na: 3\n', 'f.yaml');
    expect(r.diagnostics[0]).toMatchObject({ message: 'duplicate key in mapping', location: { line: 3, col: 1 } });
  });

  it('stops alias bombs and absurd nesting with an error instead of hanging', () => {
    const bomb = [
      'a: &a [x,x,x,x,x,x,x,x,x,x]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    ].join('\n');
    expect(parseYaml(bomb, 'f.yaml').diagnostics[0].message).toBe('more than 10000 alias expansions');
    // Ten nested aliases expand fine.
    expect(parseYaml('a: &a [1]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n', 'f.yaml').diagnostics).toEqual([]);
    expect(parseYaml(`x: ${'['.repeat(250)}${']'.repeat(250)}`, 'f.yaml').diagnostics[0].message).toBe('nesting deeper than 200 levels');
    expect(parseYaml(`x: ${'['.repeat(100000)}${']'.repeat(100000)}`, 'f.yaml').diagnostics[0].message).toBe('nesting deeper than 200 levels');
    expect(parseYaml(`x: ${'['.repeat(150)}${']'.repeat(150)}`, 'f.yaml').diagnostics).toEqual([]);
  });

  it('gives an empty file the value null', () => {
    expect(parseYaml('', 'f.yaml')).toMatchObject({ value: null, diagnostics: [] });
  });
});
