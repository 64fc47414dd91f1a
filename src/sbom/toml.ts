/**
 * A TOML 1.0 reader for the files an SBOM is made from (Cargo.toml, Cargo.lock,
 * pyproject.toml, poetry.lock): tables, arrays of tables, dotted and quoted keys, every
 * string form (with escapes and line continuations), integers (hex, octal, binary,
 * underscores), floats, booleans, arrays spanning lines and inline tables. Dates and times
 * are returned as their source text. Errors carry a 1-based line and column.
 */

export class TomlError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(`${message} (line ${line}, column ${col})`);
    this.name = 'TomlError';
  }
}

type Table = Record<string, unknown>;

const BARE_KEY = /[A-Za-z0-9_-]/;

/**
 * Deepest nesting of arrays, inline tables and dotted keys accepted (as for YAML, SPEC 3):
 * the file is untrusted, and a 20,000-deep `[[[[...` must be an error, not a stack overflow.
 */
const MAX_TOML_NESTING = 200;

/** An own property only (never `__proto__` or anything inherited from Object.prototype). */
function own(t: Table, k: string): unknown {
  return Object.hasOwn(t, k) ? t[k] : undefined;
}

/** Sets a key as an own data property, whatever its name (`__proto__` included). */
function put(t: Table, k: string, v: unknown): void {
  Object.defineProperty(t, k, { value: v, writable: true, enumerable: true, configurable: true });
}

export function parseToml(text: string): Table {
  return new Parser(text.replace(/^\uFEFF/, '')).parse();
}

class Parser {
  private pos = 0;
  /** Tables defined by a header (may not be defined twice) and inline tables/arrays (closed). */
  private readonly defined = new Set<Table>();
  private readonly closed = new Set<unknown>();

  constructor(private readonly s: string) {}

  private fail(message: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.s.length; i++) {
      if (this.s[i] === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    throw new TomlError(message, line, col);
  }

  private peek(n = 0): string {
    return this.s[this.pos + n] ?? '';
  }

  private startsWith(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }

  private skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  private skipComment(): void {
    if (this.peek() === '#') {
      while (this.pos < this.s.length && this.peek() !== '\n') this.pos++;
    }
  }

  /** Whitespace, newlines and comments (inside arrays and between statements). */
  private skipAll(): void {
    for (;;) {
      this.skipWs();
      if (this.peek() === '#') this.skipComment();
      else if (this.peek() === '\n') this.pos++;
      else if (this.startsWith('\r\n')) this.pos += 2;
      else return;
    }
  }

  private endOfLine(): void {
    this.skipWs();
    this.skipComment();
    if (this.pos >= this.s.length) return;
    if (this.peek() === '\n') this.pos++;
    else if (this.startsWith('\r\n')) this.pos += 2;
    else this.fail(`unexpected "${this.peek()}" after a value (expected the end of the line)`);
  }

  parse(): Table {
    const root: Table = {};
    let current = root;
    for (;;) {
      this.skipAll();
      if (this.pos >= this.s.length) return root;
      if (this.peek() === '[') {
        const array = this.peek(1) === '[';
        const at = this.pos;
        this.pos += array ? 2 : 1;
        this.skipWs();
        const key = this.key();
        this.skipWs();
        if (array ? !this.startsWith(']]') : this.peek() !== ']') this.fail(`expected "${array ? ']]' : ']'}" to close the table header`);
        this.pos += array ? 2 : 1;
        current = array ? this.arrayTable(root, key, at) : this.table(root, key, at);
        this.endOfLine();
      } else {
        this.keyValue(current);
        this.endOfLine();
      }
    }
  }

  /** Walk (creating) the tables of `path` from `from`; arrays of tables continue at their last element. */
  private descend(from: Table, path: string[], at: number, implicitOk = true): Table {
    let t = from;
    for (const k of path) {
      let next = own(t, k);
      if (next === undefined) {
        next = {};
        put(t, k, next);
      } else if (Array.isArray(next)) {
        if (this.closed.has(next) || !implicitOk) this.fail(`cannot extend the array "${k}"`, at);
        next = next[next.length - 1];
      }
      if (!isTable(next) || this.closed.has(next)) this.fail(`key "${k}" is already defined as a value`, at);
      t = next;
    }
    return t;
  }

  private table(root: Table, key: string[], at: number): Table {
    const parent = this.descend(root, key.slice(0, -1), at);
    const last = key[key.length - 1];
    let t = own(parent, last);
    if (t === undefined) {
      t = {};
      put(parent, last, t);
    } else if (!isTable(t) || this.closed.has(t)) this.fail(`key "${key.join('.')}" is already defined as a value`, at);
    if (this.defined.has(t as Table)) this.fail(`table [${key.join('.')}] is defined twice`, at);
    this.defined.add(t as Table);
    return t as Table;
  }

  private arrayTable(root: Table, key: string[], at: number): Table {
    const parent = this.descend(root, key.slice(0, -1), at);
    const last = key[key.length - 1];
    let arr = own(parent, last);
    if (arr === undefined) {
      arr = [];
      put(parent, last, arr);
    } else if (!Array.isArray(arr) || this.closed.has(arr)) this.fail(`key "${key.join('.')}" is not an array of tables`, at);
    const t: Table = {};
    (arr as unknown[]).push(t);
    this.defined.add(t);
    return t;
  }

  private keyValue(into: Table): void {
    const at = this.pos;
    const key = this.key();
    this.skipWs();
    if (this.peek() !== '=') this.fail(`expected "=" after the key "${key.join('.')}"`);
    this.pos++;
    this.skipWs();
    const value = this.value();
    const parent = this.descend(into, key.slice(0, -1), at, false);
    const last = key[key.length - 1];
    if (Object.hasOwn(parent, last)) this.fail(`key "${key.join('.')}" is defined twice`, at);
    put(parent, last, value);
  }

  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === '"') parts.push(this.basicString());
      else if (c === "'") parts.push(this.literalString());
      else {
        const start = this.pos;
        while (BARE_KEY.test(this.peek())) this.pos++;
        if (this.pos === start) this.fail(c ? `unexpected "${c}" where a key was expected` : 'a key was expected');
        parts.push(this.s.slice(start, this.pos));
      }
      this.skipWs();
      if (this.peek() !== '.') return parts;
      if (parts.length >= MAX_TOML_NESTING) this.fail(`a dotted key deeper than ${MAX_TOML_NESTING} levels`);
      this.pos++;
    }
  }

  /** Open arrays and inline tables around the current value. */
  private depth = 0;

  /** Parses a nested array or inline table, refusing to go deeper than {@link MAX_TOML_NESTING}. */
  private nested<T>(parse: () => T): T {
    if (this.depth >= MAX_TOML_NESTING) this.fail(`arrays and inline tables nested deeper than ${MAX_TOML_NESTING} levels`);
    this.depth++;
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private value(): unknown {
    const c = this.peek();
    if (this.startsWith('"""')) return this.multilineBasic();
    if (c === '"') return this.basicString();
    if (this.startsWith("'''")) return this.multilineLiteral();
    if (c === "'") return this.literalString();
    if (c === '[') return this.nested(() => this.array());
    if (c === '{') return this.nested(() => this.inlineTable());
    if (this.startsWith('true') && !BARE_KEY.test(this.peek(4))) {
      this.pos += 4;
      return true;
    }
    if (this.startsWith('false') && !BARE_KEY.test(this.peek(5))) {
      this.pos += 5;
      return false;
    }
    return this.scalar();
  }

  private scalar(): unknown {
    const start = this.pos;
    while (/[0-9A-Za-z_+\-.:]/.test(this.peek())) this.pos++;
    // A date and a time separated by a space: `1979-05-27 07:32:00Z`.
    if (/^\d{4}-\d{2}-\d{2}$/.test(this.s.slice(start, this.pos)) && this.peek() === ' ' && /\d/.test(this.peek(1))) {
      this.pos++;
      while (/[0-9A-Za-z_+\-.:]/.test(this.peek())) this.pos++;
    }
    const tok = this.s.slice(start, this.pos);
    if (tok === '') this.fail(this.peek() ? `unexpected "${this.peek()}" where a value was expected` : 'a value was expected');
    if (/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/.test(tok) || /^\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(tok)) return tok;
    if (/^[+-]?(inf|nan)$/.test(tok)) return tok.endsWith('nan') ? NaN : tok.startsWith('-') ? -Infinity : Infinity;
    const noUnderscore = (t: string) => {
      if (/(^|[^0-9a-fA-F])_|_($|[^0-9a-fA-F])|__/.test(t)) this.fail(`invalid number "${tok}"`, start);
      return t.replace(/_/g, '');
    };
    const radix = /^0([xob])([0-9A-Fa-f_]+)$/.exec(tok);
    if (radix) {
      const digits = noUnderscore(radix[2]);
      const base = radix[1] === 'x' ? 16 : radix[1] === 'o' ? 8 : 2;
      const valid = base === 16 ? /^[0-9A-Fa-f]+$/ : base === 8 ? /^[0-7]+$/ : /^[01]+$/;
      if (!valid.test(digits)) this.fail(`invalid number "${tok}"`, start);
      return parseInt(digits, base);
    }
    if (/^[+-]?(0|[1-9][0-9_]*)$/.test(tok)) return Number(noUnderscore(tok));
    if (/^[+-]?(0|[1-9][0-9_]*)(\.[0-9_]+)?([eE][+-]?[0-9_]+)?$/.test(tok)) return Number(noUnderscore(tok));
    this.fail(`invalid value "${tok}" (strings must be quoted)`, start);
  }

  private escape(): string {
    const at = this.pos;
    const c = this.peek(1);
    this.pos += 2;
    switch (c) {
      case 'b':
        return '\b';
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'f':
        return '\f';
      case 'r':
        return '\r';
      case 'e':
        return '\x1b';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'u':
      case 'U': {
        const n = c === 'u' ? 4 : 8;
        const hex = this.s.slice(this.pos, this.pos + n);
        if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) this.fail(`invalid unicode escape "\\${c}${hex}"`, at);
        this.pos += n;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail(`invalid unicode scalar "\\${c}${hex}"`, at);
        return String.fromCodePoint(cp);
      }
      default:
        this.fail(`invalid escape "\\${c}"`, at);
    }
  }

  private basicString(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string', start);
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') out += this.escape();
      else {
        out += c;
        this.pos++;
      }
    }
  }

  private literalString(): string {
    const start = this.pos;
    const end = this.s.indexOf("'", this.pos + 1);
    const nl = this.s.indexOf('\n', this.pos + 1);
    if (end < 0 || (nl >= 0 && nl < end)) this.fail('unterminated string', start);
    this.pos = end + 1;
    return this.s.slice(start + 1, end);
  }

  private multilineBasic(): string {
    const start = this.pos;
    this.pos += 3;
    if (this.startsWith('\r\n')) this.pos += 2;
    else if (this.peek() === '\n') this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= this.s.length) this.fail('unterminated string', start);
      if (this.startsWith('"""')) {
        // Up to two quotes may precede the closing delimiter.
        let extra = 0;
        while (extra < 2 && this.peek(3 + extra) === '"') extra++;
        out += '"'.repeat(extra);
        this.pos += 3 + extra;
        return out;
      }
      const c = this.peek();
      if (c === '\\') {
        // A line-ending backslash trims the newline and the whitespace after it.
        let j = this.pos + 1;
        while (this.s[j] === ' ' || this.s[j] === '\t') j++;
        if (this.s[j] === '\n' || (this.s[j] === '\r' && this.s[j + 1] === '\n')) {
          this.pos = j;
          while (/[ \t\r\n]/.test(this.peek())) this.pos++;
          continue;
        }
        out += this.escape();
      } else {
        out += c;
        this.pos++;
      }
    }
  }

  private multilineLiteral(): string {
    const start = this.pos;
    this.pos += 3;
    if (this.startsWith('\r\n')) this.pos += 2;
    else if (this.peek() === '\n') this.pos++;
    const end = this.s.indexOf("'''", this.pos);
    if (end < 0) this.fail('unterminated string', start);
    let extra = 0;
    while (extra < 2 && this.s[end + 3 + extra] === "'") extra++;
    const out = this.s.slice(this.pos, end + extra);
    this.pos = end + 3 + extra;
    return out;
  }

  private array(): unknown[] {
    const start = this.pos;
    this.pos++;
    const out: unknown[] = [];
    for (;;) {
      this.skipAll();
      if (this.peek() === ']') {
        this.pos++;
        break;
      }
      if (this.pos >= this.s.length) this.fail('unterminated array', start);
      out.push(this.value());
      this.skipAll();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() === ']') {
        this.pos++;
        break;
      } else this.fail(`expected "," or "]" in the array`);
    }
    this.closed.add(out);
    return out;
  }

  private inlineTable(): Table {
    this.pos++;
    const out: Table = {};
    this.skipWs();
    if (this.peek() === '}') {
      this.pos++;
      this.closed.add(out);
      return out;
    }
    for (;;) {
      this.skipWs();
      this.keyValue(out);
      this.skipWs();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() === '}') {
        this.pos++;
        break;
      } else this.fail(`expected "," or "}" in the inline table`);
    }
    this.closed.add(out);
    return out;
  }
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
