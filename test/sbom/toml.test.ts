/** The TOML reader used for Cargo.toml, Cargo.lock, pyproject.toml and poetry.lock. */
import { describe, expect, it } from 'vitest';
import { TomlError, parseToml } from '../../src/sbom/toml.js';

describe('parseToml', () => {
  it('reads tables, arrays of tables, dotted and quoted keys', () => {
    const doc = parseToml(
      [
        '# comment',
        'title = "x" # trailing',
        'site."google.com" = true',
        '[a.b]',
        'c = 1',
        '[[pkg]]',
        'name = "one"',
        '[pkg.dependencies]',
        'dep = ">=1"',
        '[[pkg]]',
        "name = 'two'",
        '[a]',
        'd = 2',
      ].join('\n'),
    );
    expect(doc).toEqual({
      title: 'x',
      site: { 'google.com': true },
      a: { b: { c: 1 }, d: 2 },
      pkg: [{ name: 'one', dependencies: { dep: '>=1' } }, { name: 'two' }],
    });
  });

  it('reads every string form, numbers, dates, multi-line arrays and inline tables', () => {
    const doc = parseToml(
      [
        'basic = "tab\\there \\"q\\" \\u00e9 \\U0001F600"',
        "literal = 'C:\\path\\no\\escape'",
        'ml = """',
        'line one \\',
        '    continued',
        'two"""',
        "mll = '''",
        "raw \\n '' quote'''",
        'int = 1_000',
        'hex = 0xff',
        'oct = 0o17',
        'bin = 0b101',
        'neg = -7',
        'flt = 6.02e23',
        'inf_ = -inf',
        'date = 1979-05-27T07:32:00Z',
        'date2 = 1979-05-27 07:32:00',
        'day = 1979-05-27',
        'arr = [',
        '  "a", # comment',
        '  "b",',
        ']',
        'nested = [[1, 2], ["x"]]',
        'files = [',
        '    {file = "a.whl", hash = "sha256:00"},',
        '    {file = "a.tar.gz", hash = "sha256:11"},',
        ']',
        'it = { version = ">=1", optional = true, x.y = 1 }',
        'empty = {}',
      ].join('\n'),
    );
    expect(doc).toEqual({
      basic: 'tab\there "q" é 😀',
      literal: 'C:\\path\\no\\escape',
      ml: 'line one continued\ntwo',
      mll: "raw \\n '' quote",
      int: 1000,
      hex: 255,
      oct: 15,
      bin: 5,
      neg: -7,
      flt: 6.02e23,
      inf_: -Infinity,
      date: '1979-05-27T07:32:00Z',
      date2: '1979-05-27 07:32:00',
      day: '1979-05-27',
      arr: ['a', 'b'],
      nested: [[1, 2], ['x']],
      files: [
        { file: 'a.whl', hash: 'sha256:00' },
        { file: 'a.tar.gz', hash: 'sha256:11' },
      ],
      it: { version: '>=1', optional: true, x: { y: 1 } },
      empty: {},
    });
  });

  it('rejects invalid documents with a line and column', () => {
    const cases: [string, number, RegExp][] = [
      ['a = "unterminated\nb = 1', 1, /unterminated string/],
      ['a = 1\na = 2', 2, /defined twice/],
      ['[t]\nx=1\n[t]\ny=2', 3, /defined twice/],
      ['a = bare', 1, /strings must be quoted/],
      ['a = 1 b = 2', 1, /end of the line/],
      ['a = [1, 2', 1, /unterminated array|expected/],
      ['x = { a = 1 }\n[x]\n', 2, /already defined/],
      ['a = "\\q"', 1, /invalid escape/],
    ];
    for (const [text, line, msg] of cases) {
      let err: unknown;
      try {
        parseToml(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(TomlError);
      expect((err as TomlError).line, text).toBe(line);
      expect((err as TomlError).message, text).toMatch(msg);
    }
  });
});
