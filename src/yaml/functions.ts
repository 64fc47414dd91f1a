/**
 * Atmos YAML functions as the parsers represent them: a tagged scalar becomes the string
 * `"<tag> <value>"` (Atmos pkg/utils/yaml_utils.go `getValueWithTag`), evaluated later —
 * `!include`/`!include.raw` when the manifest is loaded (they need its directory,
 * src/stacks/include.ts), the rest on the component's merged configuration
 * (src/resolve/yaml-functions.ts). This module knows the tags and how their arguments split.
 */

/** Every tag Atmos accepts in a manifest (Atmos `AtmosYamlTags`); any other custom tag is an error when parsed. */
export const ATMOS_TAGS: readonly string[] = [
  '!env',
  '!exec',
  '!include',
  '!include.raw',
  '!template',
  '!terraform.output',
  '!terraform.state',
  '!store',
  '!store.get',
  '!secret',
  '!cel',
  '!repo-root',
  '!git.root',
  '!git.sha',
  '!git.branch',
  '!git.ref',
  '!git.repository',
  '!git.owner',
  '!git.name',
  '!git.host',
  '!git.url',
  '!cwd',
  '!random',
  '!literal',
  '!append',
  '!unset',
  '!atmos.Component',
  '!aws.account_id',
  '!aws.caller_identity_arn',
  '!aws.caller_identity_user_id',
  '!aws.region',
  '!aws.organization_id',
  '!emulator',
  '!version',
  '!tags',
  '!labels',
  '!labels.keys',
  '!labels.values',
];

const TAG_SET = new Set(ATMOS_TAGS);

/** Whether a custom tag is one of Atmos's. */
export function isAtmosTag(tag: string): boolean {
  return TAG_SET.has(tag);
}

/** The string a tagged scalar becomes (Atmos trims both the tag and the value). */
export function taggedString(tag: string, value: unknown): string {
  return `${tag} ${value === null || value === undefined ? '' : String(value).trim()}`.trim();
}

/** `"<tag> <args>"` split into the Atmos tag and its argument text; undefined for any other string. */
export function splitFunction(s: string): { tag: string; args: string } | undefined {
  if (s.charCodeAt(0) !== 33 /* ! */) return undefined;
  const sp = s.search(/\s/);
  const tag = sp < 0 ? s : s.slice(0, sp);
  if (!TAG_SET.has(tag)) return undefined;
  return { tag, args: sp < 0 ? '' : s.slice(sp).trim() };
}

/**
 * Arguments split on white space, a quoted argument (`"a b"`, `'a b'`) kept whole with its
 * quotes removed and a doubled quote inside it read as one (Atmos pkg/function/parser
 * `tokenize`/`unquote`). Returns each argument with where it starts in `args`.
 */
export function splitArgs(args: string): { value: string; start: number }[] | { error: string } {
  const out: { value: string; start: number }[] = [];
  let i = 0;
  while (i < args.length) {
    if (/\s/.test(args[i])) {
      i++;
      continue;
    }
    const start = i;
    const q = args[i];
    if (q === '"' || q === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= args.length) return { error: `unterminated quoted value ${args.slice(start)}` };
        if (args[i] === q) {
          if (args[i + 1] === q) {
            v += q;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += args[i++];
      }
      out.push({ value: v, start });
    } else {
      while (i < args.length && !/\s/.test(args[i])) i++;
      out.push({ value: args.slice(start, i), start });
    }
  }
  return out;
}

/** Atmos decodes the text of `!template` and the output of `!exec` as JSON, keeping the text when it is not JSON. */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
