import { describe, expect, it } from 'vitest';
import { isPlainMap, locOf, parseYaml } from '../../src/yaml/index.js';
import { deepMerge, mergeAll, mergeMapsAll, mergeMapsShared, type ListMergeStrategy } from '../../src/stacks/merge.js';
import { diag, repo, tf, where, y } from './helpers.js';

/** The reference semantics (SPEC 3.1), written as a plain pairwise fold. */
function refMerge(base: unknown, over: unknown, s: ListMergeStrategy): unknown {
  if (over === undefined) return base;
  if (isPlainMap(base) && isPlainMap(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? refMerge(base[k], v, s) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    if (s === 'replace') return over;
    if (s === 'append') return [...base, ...over];
    return Array.from({ length: Math.max(base.length, over.length) }, (_, i) =>
      i >= over.length ? base[i] : i >= base.length ? over[i] : isPlainMap(base[i]) && isPlainMap(over[i]) ? refMerge(base[i], over[i], s) : base[i],
    );
  }
  return over;
}

function rnd(seed: number) {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function randomValue(r: () => number, depth: number): unknown {
  const p = r();
  if (depth > 2 || p < 0.3) return [1, 'a', null, true][Math.floor(r() * 4)];
  if (p < 0.5) return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(r() * 4); i++) o[['a', 'b', 'c', 'd'][Math.floor(r() * 4)]] = randomValue(r, depth + 1);
  return o;
}

describe('deep merge (SPEC 3.1 "Merge")', () => {
  it('later wins, maps deep-merge, a type change replaces, null replaces and keeps the key', () => {
    expect(deepMerge({ a: 1, m: { x: 1, y: 2 }, t: { k: 1 }, n: { k: 1 } }, { a: 2, m: { y: 3 }, t: 'scalar', n: null })).toEqual({
      a: 2,
      m: { x: 1, y: 3 },
      t: 'scalar',
      n: null,
    });
    // a map after null starts over
    expect(mergeAll([{ n: { a: 1 } }, { n: null }, { n: { b: 2 } }])).toEqual({ n: { b: 2 } });
  });

  it('lists: replace (default), append, merge by index (a later scalar keeps the earlier element)', () => {
    const a = { l: [{ x: 1, y: 1 }, 'keep', 3] };
    const b = { l: [{ y: 2 }, 'later'] };
    expect(deepMerge(a, b, 'replace')).toEqual({ l: [{ y: 2 }, 'later'] });
    expect(deepMerge(a, b, 'append')).toEqual({ l: [{ x: 1, y: 1 }, 'keep', 3, { y: 2 }, 'later'] });
    expect(deepMerge(a, b, 'merge')).toEqual({ l: [{ x: 1, y: 2 }, 'keep', 3] });
    expect(deepMerge({ l: [1] }, { l: [5, 6, 7] }, 'merge')).toEqual({ l: [1, 6, 7] });
  });

  it('merging several maps at once equals folding them pairwise (random inputs, every strategy)', () => {
    const r = rnd(42);
    for (const s of ['replace', 'append', 'merge'] as const) {
      for (let n = 0; n < 400; n++) {
        const inputs = Array.from({ length: 1 + Math.floor(r() * 4) }, () => {
          const v = randomValue(r, 0);
          return isPlainMap(v) ? v : { a: v };
        });
        const expected = inputs.reduce((acc, v) => refMerge(acc, v, s), {} as unknown);
        expect(mergeMapsAll(inputs, s)).toEqual(expected);
        expect(mergeAll(inputs, s)).toEqual(expected);
        expect(mergeMapsShared(inputs, s)).toEqual(expected);
      }
    }
  });

  it('never mutates its inputs and shares untouched values', () => {
    const inner = { deep: 1 };
    const a = { m: { x: 1 }, keep: inner };
    const b = { m: { y: 2 } };
    const snapshot = JSON.stringify([a, b]);
    const out = mergeMapsAll([a, b]) as Record<string, unknown>;
    expect(JSON.stringify([a, b])).toBe(snapshot);
    expect(out.keep).toBe(inner);
    expect(mergeMapsShared([{}, b, null])).toBe(b);
    expect(mergeMapsAll([b])).not.toBe(b);
  });

  it('each entry keeps the position of the value that won', () => {
    const a = parseYaml(
      y(`
      x: 1
      m:
        p: 1
        q: 1
    `),
      'a.yaml',
    ).value;
    const b = parseYaml(
      y(`
      m:
        q: 2
      z: 3
    `),
      'b.yaml',
    ).value;
    const out = mergeMapsAll([a, b]) as Record<string, Record<string, unknown>>;
    expect(locOf(out, 'x')).toEqual({ file: 'a.yaml', line: 1, col: 4 });
    expect(locOf(out, 'z')).toEqual({ file: 'b.yaml', line: 3, col: 4 });
    expect(locOf(out.m, 'p')).toEqual({ file: 'a.yaml', line: 3, col: 6 });
    expect(locOf(out.m, 'q')).toEqual({ file: 'b.yaml', line: 2, col: 6 });
  });
});

describe('null and type changes in stacks (Atmos pkg/merge)', () => {
  it('null replaces a map or scalar and keeps the key; a map replaces a list; a list replaces a map', () => {
    const r = repo({
      'stacks/a.yaml': `
        vars:
          m: { x: 1 }
          s: text
          l: [1, 2]
          t: { x: 1 }
      `,
      'stacks/b.yaml': `
        import: [a]
        vars:
          m: null
          s: null
          l: { now: map }
          t: [x]
      `,
    });
    const v = tf(r.load(['b']), 'c').vars;
    expect(v).toEqual({ m: null, s: null, l: { now: 'map' }, t: ['x'] });
    expect(Object.keys(v)).toEqual(['m', 's', 'l', 't']);
    expect(locOf(v, 'm')).toMatchObject({ file: 'stacks/b.yaml', line: 3 });
  });

  // Atmos tests/merge_type_override_test.go ("list overridden by scalar", "… by null"):
  // the later scalar or null wins (issue 13 item 6; an older Atmos refused the scalar).
  it('a list overridden by a scalar resolves to the scalar, as in Atmos; an explicit null replaces it (SPEC 3.1)', () => {
    const r = repo({
      'stacks/catalog/base.yaml': `
        components:
          terraform:
            app:
              vars:
                subnets: [a, b]
      `,
      'stacks/scalar.yaml': `
        import: [catalog/base]
        components:
          terraform:
            app:
              vars:
                subnets: "10.0.0.0/24"
      `,
      'stacks/null.yaml': `
        vars:
          subnets: [x]
        components:
          terraform:
            app2:
              vars:
                subnets: null
      `,
      'stacks/function.yaml': `
        import: [catalog/base]
        components:
          terraform:
            app:
              vars:
                subnets: !terraform.output vpc .subnets
      `,
    });
    const scalar = tf(r.load(['scalar']), 'app').vars;
    expect(scalar.subnets).toBe('10.0.0.0/24');
    expect(locOf(scalar, 'subnets')).toMatchObject({ file: 'stacks/scalar.yaml', line: 6, col: 18 });
    // root vars (list) and component vars (null) only meet when the component is resolved
    const s = r.load(['null']);
    expect(tf(s, 'app2').vars).toEqual({ subnets: null });
    // Atmos defers YAML functions in merges: they replace anything
    expect(tf(r.load(['function']), 'app').vars.subnets).toBe('!terraform.output vpc .subnets');
  });
});

describe('Atmos merge mode ({ atmos: true })', () => {
  const A = { atmos: true };
  it("merge keeps the earlier list's length and merges maps in list elements with replace", () => {
    expect(deepMerge([1], [10, 20, 30], 'merge', A)).toEqual([1]);
    expect(deepMerge([1], [10, 20, 30], 'merge')).toEqual([1, 20, 30]);
    expect(deepMerge([{ a: [1, 2], b: 1 }], [{ a: [3] }, { x: 1 }], 'merge', A)).toEqual([{ a: [3], b: 1 }]);
    expect(deepMerge({ l: [{ a: [1] }] }, { l: [{ a: [2] }] }, 'merge', A)).toEqual({ l: [{ a: [2] }] });
    expect(deepMerge({ a: [1] }, { a: [2] }, 'append', A)).toEqual({ a: [1, 2] });
  });

  // Atmos tests/merge_type_override_test.go, "list overridden by scalar" (issue 13 item 6).
  it('a scalar over a list replaces it; null replaces', () => {
    expect(mergeMapsAll([{ x: { y: [1] } }, { x: { y: 'no' } }], 'replace', A)).toEqual({ x: { y: 'no' } });
    expect(mergeAll([{ y: [1] }, { y: 3 }], 'append', A)).toEqual({ y: 3 });
    expect(mergeAll([{ y: [1] }, { y: null }], 'append', A)).toEqual({ y: null });
    expect(mergeAll([{ y: [1] }, { y: null }], 'append')).toEqual({ y: null });
  });
});

describe('list merge strategies in stacks', () => {
  const tree = {
    'stacks/catalog/base.yaml': `
      components:
        terraform:
          app/defaults:
            metadata:
              type: abstract
            vars:
              subnets: [a, b]
              rules: [{ port: 80, proto: tcp }, keep]
    `,
    'stacks/dev.yaml': `
      import: [catalog/base]
      components:
        terraform:
          app:
            metadata:
              inherits: [app/defaults]
            vars:
              subnets: [c]
              rules: [{ port: 443 }, later, extra]
    `,
  };

  it('uses atmos.yaml settings.list_merge_strategy for every merge', () => {
    expect(tf(repo(tree, 'replace').load(['dev']), 'app').vars).toMatchObject({ subnets: ['c'], rules: [{ port: 443 }, 'later', 'extra'] });
    expect(tf(repo(tree, 'append').load(['dev']), 'app').vars).toMatchObject({
      subnets: ['a', 'b', 'c'],
      rules: [{ port: 80, proto: 'tcp' }, 'keep', { port: 443 }, 'later', 'extra'],
    });
    // Atmos `merge` keeps the earlier list's length (pkg/merge/merge_native.go)
    expect(tf(repo(tree, 'merge').load(['dev']), 'app').vars).toMatchObject({
      subnets: ['a', 'b'],
      rules: [{ port: 443, proto: 'tcp' }, 'keep'],
    });
  });

  it('a component settings.list_merge_strategy governs its chain (global → bases → component → overrides)', () => {
    const r = repo({
      ...tree,
      'stacks/dev.yaml': `
        import: [catalog/base]
        components:
          terraform:
            app:
              metadata:
                inherits: [app/defaults]
              settings:
                list_merge_strategy: append
              vars:
                subnets: [c]
            other:
              metadata:
                inherits: [app/defaults]
              vars:
                subnets: [d]
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'app').vars.subnets).toEqual(['a', 'b', 'c']);
    expect(tf(s, 'other').vars.subnets).toEqual(['d']);
  });

  it('an invalid list_merge_strategy is a located error', () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            app:
              settings:
                list_merge_strategy: concat
    `,
    });
    const d = diag(() => r.load(['dev']));
    expect(d.message).toBe('components.terraform.app.settings.list_merge_strategy must be replace, append or merge, got "concat"');
    expect(where(d)).toBe('stacks/dev.yaml:5:30');
    expect(d.hint).toContain('valid values: replace, append, merge');
  });
});
