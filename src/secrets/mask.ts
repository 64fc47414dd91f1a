/**
 * The one masker (SPEC 4.1): secret values (as is, base64, base64url, URL-encoded, hex) and
 * URL credentials become `***` in step output, events, records, summaries and everything the
 * CLI prints.
 */
/** Values shorter than this are not masked (masking "abc" would garble every log); never print them either. */
export const MIN_MASKED_LENGTH = 4;
export const MASK = '***';

/**
 * Credentials in a URL, printed as `https://***@host/`: a password in any scheme
 * (`scheme://user:token@`), and any userinfo of http(s), where a token is often the user name
 * (`https://ghp_x@github.com`). A bare ssh user name (`ssh://git@host`) is no secret and stays.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:'"<>]*:[^\s/@'"<>]*@/gi;
const HTTP_USERINFO = /\b(https?:\/\/)[^\s/@'"<>]+@/gi;

export function redactUrl(text: string): string {
  return text.replace(URL_PASSWORD, `$1${MASK}@`).replace(HTTP_USERINFO, `$1${MASK}@`);
}

/** The forms of a value that are masked: as is, base64 (padded or not), base64url, URL-encoded, hex. */
function maskForms(value: string): string[] {
  const b = Buffer.from(value, 'utf8');
  const forms = [value, b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), encodeURIComponent(value), b.toString('hex')];
  // A multi-line value (a key file) may be printed line by line.
  if (value.includes('\n')) for (const l of value.split(/\r?\n/)) if (l.trim().length >= 8) forms.push(l.trim());
  return forms.filter((f) => f.length >= MIN_MASKED_LENGTH);
}

/**
 * Secret values of this process, by source key (`env:NAME`, `file:/path`, or a derived key such
 * as a sensitive Terraform output's), and the masker every output goes through.
 */
export class SecretStore {
  private readonly values = new Map<string, string>();
  private masks: string[] = [];

  set(key: string, value: string): void {
    this.values.set(key, value);
    this.addMask(value);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Forget a value (it stays masked). */
  delete(key: string): void {
    this.values.delete(key);
  }

  /** Mask this value (and its encodings) from now on. */
  addMask(value: string): void {
    const all = new Set([...this.masks, ...maskForms(value)]);
    this.masks = [...all].sort((a, b) => b.length - a.length);
  }

  /** Mask the credentials of a URL (`https://user:token@host`). */
  addUrl(url: string | undefined): void {
    if (!url) return;
    try {
      const u = new URL(url);
      for (const p of [u.password, u.username]) if (p) for (const v of new Set([p, decodeURIComponent(p)])) this.addMask(v);
    } catch {
      // not a URL (a remote's name, a path): nothing to mask
    }
  }

  /** Whether a text contains a masked value. */
  contains(text: string): boolean {
    return this.masks.some((m) => text.includes(m));
  }

  /** The text with every secret value (in any masked form) and URL credentials replaced by `***`. */
  mask(text: string): string {
    let out = text;
    for (const m of this.masks) if (out.includes(m)) out = out.split(m).join(MASK);
    return redactUrl(out);
  }

  /** Every string inside a JSON-like value masked (events, records). */
  maskDeep<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.maskDeep(v);
      return out as T;
    }
    return value;
  }
}

/** The process's secrets: filled before a run starts and by sensitive outputs; read by every printer. */
export const secrets = new SecretStore();

/**
 * Mask everything this process writes to stdout and stderr (errors, notices, summaries,
 * events, git's relayed messages): the last line of defence behind the maskers at the source.
 */
let outputMasked = false;
export function maskProcessOutput(): void {
  if (outputMasked) return;
  outputMasked = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      let text: string | undefined;
      if (typeof chunk === 'string') text = chunk;
      else if (chunk instanceof Uint8Array) {
        // Binary output (an archive on stdout) passes untouched: only text is masked.
        const decoded = Buffer.from(chunk).toString('utf8');
        if (Buffer.from(decoded, 'utf8').equals(Buffer.from(chunk))) text = decoded;
      }
      return write(text === undefined ? chunk : secrets.mask(text), ...rest);
    }) as typeof stream.write;
  }
}
