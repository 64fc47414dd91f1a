/**
 * Go text/template semantics, construct by construct. Expected values follow Go's
 * text/template documentation (https://pkg.go.dev/text/template) and its exec_test.go
 * cases, Sprig's and Gomplate's documented results, and Atmos's
 * internal/exec/template_utils_test.go where cited.
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate, type RenderOptions, TemplateError } from '../../src/gotemplate/index.js';

const OPTS: RenderOptions = { delimiters: ['{{', '}}'], missingKey: 'default', env: { USER: 'me' }, sprig: true, gomplate: true };
const DATA = { vars: { stage: 'dev', n: 3, f: 1.5, l: ['a', 'b'], m: { z: 1, a: 2 }, none: null, yes: true }, atmos_component: 'top-level-component1', atmos_stack: 'tenant1-ue2-dev' };
const r = (t: string, data: unknown = DATA, o: Partial<RenderOptions> = {}): string => renderTemplate(t, data, { ...OPTS, ...o });
const fails = (t: string, o: Partial<RenderOptions> = {}): TemplateError => {
  try {
    r(t, DATA, o);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error(`${t} did not fail`);
};

describe('actions and text', () => {
  it('prints fields, chains and dot', () => {
    expect(r('x {{ .vars.stage }} y')).toBe('x dev y');
    expect(r('{{ . }}', 'abc')).toBe('abc');
    expect(r('{{ .vars.l }} {{ .vars.m }}')).toBe('[a b] map[a:2 z:1]');
    expect(r('{{ .vars.f }} {{ .vars.yes }} {{ .vars.none }}')).toBe('1.5 true <nil>');
  });
  it('prints <no value> for a missing key with missingkey=default, and fails with missingkey=error', () => {
    // Go: "missingkey=default" "Do nothing and continue execution. If printed, the result of the index operation is the string "<no value>"".
    expect(r('{{ .nope }} {{ .nope.deeper }}')).toBe('<no value> <no value>');
    expect(fails('{{ .nope }}', { missingKey: 'error' }).message).toBe('map has no entry for key "nope"');
  });
  it('trims whitespace with {{- and -}}', () => {
    expect(r('a  \n {{- .vars.stage -}} \n  b')).toBe('adevb');
    expect(r('{{ 3 }} {{- 4 }}')).toBe('34');
  });
  it('drops comments', () => {
    expect(r('a{{/* a comment */}}b{{- /* trimmed */ -}} c')).toBe('abc');
  });
  it('unescapes the raw-string escape Atmos documents for literal braces', () => {
    // atmos tests/fixtures/scenarios/complete/stacks/orgs/cp/_defaults.yaml: atmos_component: "{{`{{ .atmos_component }}`}}"
    expect(r('{{`{{ .atmos_component }}`}}')).toBe('{{ .atmos_component }}');
  });
  it('reads literals: Go escapes, raw strings, numbers, booleans, nil', () => {
    expect(r('{{ "a\\tb\\u00e9\\x41" }}')).toBe('a\tbéA');
    expect(r('{{ `a\\n` }} {{ 0x1F }} {{ 1e3 }} {{ -2 }} {{ true }}')).toBe('a\\n 31 1000 -2 true');
    expect(r("{{ 'a' }}")).toBe('97');
  });
});

describe('pipelines and variables', () => {
  it('passes the previous result as the last argument', () => {
    expect(r('{{ .vars.stage | printf "%s-%s" "x" }}')).toBe('x-dev');
    expect(r('{{ "a" | upper | printf "%q" }}')).toBe('"A"');
  });
  it('declares, assigns and reads variables, with $ as the data', () => {
    expect(r('{{ $x := 1 }}{{ $x = 2 }}{{ $x }}')).toBe('2');
    expect(r('{{ $v := .vars }}{{ $v.stage }} {{ $.atmos_stack }}')).toBe('dev tenant1-ue2-dev');
    expect(r('{{ (.vars).stage }}')).toBe('dev');
  });
  it('refuses undefined variables and arguments to fields', () => {
    expect(fails('{{ $nope }}').message).toBe('undefined variable "$nope"');
    expect(fails('{{ .vars.stage 1 }}').message).toContain("can't give argument to non-function");
  });
});

describe('control structures', () => {
  it('if / else if / else', () => {
    const t = '{{ if eq .vars.n 1 }}one{{ else if eq .vars.n 3 }}three{{ else }}other{{ end }}';
    expect(r(t)).toBe('three');
    expect(r('{{ if .vars.l }}y{{ end }}{{ if .vars.none }}n{{ else }}e{{ end }}')).toBe('ye');
  });
  it('range over lists and maps (sorted keys), with variables and else', () => {
    expect(r('{{ range .vars.l }}<{{ . }}>{{ end }}')).toBe('<a><b>');
    expect(r('{{ range $i, $v := .vars.l }}{{ $i }}={{ $v }};{{ end }}')).toBe('0=a;1=b;');
    expect(r('{{ range $k, $v := .vars.m }}{{ $k }}={{ $v }};{{ end }}')).toBe('a=2;z=1;');
    expect(r('{{ range .vars.nope }}x{{ else }}empty{{ end }}')).toBe('empty');
    expect(r('{{ range .vars.l }}{{ if eq . "a" }}{{ continue }}{{ end }}{{ . }}{{ end }}')).toBe('b');
  });
  it('with / else sets dot', () => {
    expect(r('{{ with .vars.m }}{{ .z }}{{ end }}')).toBe('1');
    expect(r('{{ with .vars.zz }}a{{ else }}b{{ end }}')).toBe('b');
  });
  it('define, template and block', () => {
    expect(r('{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" .vars.stage }}')).toBe('[dev]');
    expect(r('{{ block "b" .vars.n }}<{{ . }}>{{ end }}')).toBe('<3>');
  });
  it('refuses a missing {{end}}', () => {
    expect(fails('{{ if true }}x').message).toContain('has no {{end}}');
  });
});

describe('Go builtin functions', () => {
  it('and / or return the deciding argument; not', () => {
    expect(r('{{ and 1 0 }} {{ and 1 2 }} {{ or 0 "" "z" }} {{ not 0 }}')).toBe('0 2 z true');
  });
  it('len, index, slice', () => {
    expect(r('{{ len .vars.l }} {{ len .vars.m }} {{ len "héllo" }}')).toBe('2 2 6');
    expect(r('{{ index .vars.l 1 }} {{ index .vars.m "a" }} {{ index .vars "m" "z" }}')).toBe('b 2 1');
    expect(r('{{ slice "abcdef" 1 3 }} {{ slice .vars.l 1 }}')).toBe('bc [b]');
  });
  it('comparisons', () => {
    expect(r('{{ eq 1 1 }} {{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1 2 }}')).toBe('true true true true true true false');
    expect(fails('{{ eq 1 "a" }}').message).toContain('incompatible types for comparison');
  });
  it('print, printf verbs, println', () => {
    expect(r('{{ print "a" 1 2 "b" }}')).toBe('a1 2b');
    expect(r('{{ printf "%s %d %v %q %t %.2f %x %5s|%-4d|%03d %%" "s" 42 .vars.l "q" true 3.14159 255 "r" 7 5 }}')).toBe('s 42 [a b] "q" true 3.14 ff     r|7   |005 %');
    expect(r('{{ printf "%d" "x" }} {{ printf "%s" }}')).toBe('%!d(string=x) %!s(MISSING)');
    expect(r('{{ println "a" 1 }}')).toBe('a 1\n');
  });
  it('html, js, urlquery', () => {
    expect(r('{{ html "<a href=\'x\'>&" }}')).toBe('&lt;a href=&#39;x&#39;&gt;&amp;');
    expect(r('{{ urlquery "a b&c" }}')).toBe('a+b%26c');
    expect(r('{{ js "it\'s <b>" }}')).toBe("it\\'s \\u003Cb\\u003E");
  });
});

describe('Sprig and Gomplate functions used by Atmos repositories', () => {
  it('reads the environment with a default (atmos complete/_defaults.yaml provisioned_by_user)', () => {
    expect(r('{{ env "USER" | default (env "USERNAME") }}')).toBe('me');
    expect(r('{{ env "NOPE" | default "fallback" }}')).toBe('fallback');
  });
  it('gomplate strings.Title and strings.Quote (atmos complete atmos_component_description)', () => {
    // atmos tests/snapshots/TestCLICommands_describe_component_with_component_name_(backward_compatibility).stdout.golden:
    // atmos_component_description: Top-Level-Component1 component provisioned in the stack "tenant1-ue2-dev"
    expect(r('{{ strings.Title .atmos_component }} component provisioned in the stack {{ .atmos_stack | strings.Quote }}')).toBe(
      'Top-Level-Component1 component provisioned in the stack "tenant1-ue2-dev"',
    );
  });
  it('string functions', () => {
    expect(r('{{ upper "a" }}{{ lower "B" }} {{ title "hello world" }} {{ trim "  x " }} {{ replace "-" "_" "a-b-c" }} {{ quote "x" 1 }} {{ squote "y" }}')).toBe(
      'Ab Hello World x a_b_c "x" "1" \'y\'',
    );
    expect(r('{{ trimPrefix "v" "v1.2" }} {{ trimSuffix ".0" "1.0" }} {{ strings.TrimPrefix "v" "v2" }} {{ strings.Trunc 3 "abcdef" }} {{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }}')).toBe(
      '1.2 1 2 abc true true',
    );
    expect(r('{{ regexReplaceAll "[^a-z]" "a1b2" "-" }} {{ splitList "," "a,b" }} {{ join "+" (list "a" "b") }}')).toBe('a-b- [a b] a+b');
  });
  it('collections, JSON and kinds', () => {
    expect(r('{{ $d := dict "b" 1 "a" "x" }}{{ toJson $d }} {{ hasKey $d "a" }} {{ get $d "b" }} {{ keys $d }}')).toBe('{"a":"x","b":1} true 1 [a b]');
    expect(r('{{ has "a" .vars.l }} {{ kindIs "map" .vars.m }} {{ kindOf .vars.l }} {{ toString 5 }} {{ toJSON .vars.l }}')).toBe('true true slice 5 ["a","b"]');
    expect(r('{{ ternary "y" "n" true }} {{ coalesce "" 0 "c" }} {{ empty "" }} {{ default "d" "" }}')).toBe('y c true d');
  });
  it('fail stops with its message', () => {
    expect(fails('{{ fail "no way" }}').message).toBe('error calling fail: no way');
  });
});

describe('refusals', () => {
  it('an unknown function fails at parse time with its offset', () => {
    const e = fails('abc {{ nosuch 1 }}');
    expect(e.message).toBe('function "nosuch" not defined');
    expect(e.offset).toBe(7);
  });
  it('Sprig functions are absent when Sprig is disabled, Gomplate ones when Gomplate is', () => {
    expect(fails('{{ upper "a" }}', { sprig: false }).message).toBe('function "upper" not defined');
    expect(fails('{{ strings.Quote "a" }}', { gomplate: false }).message).toBe('function "strings.Quote" not defined');
  });
  it('honours custom delimiters', () => {
    expect(r('<< .vars.stage >> {{ x }}', DATA, { delimiters: ['<<', '>>'] })).toBe('dev {{ x }}');
  });
});
