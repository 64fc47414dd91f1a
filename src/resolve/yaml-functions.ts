/**
 * Atmos YAML functions on a component's merged configuration (Atmos internal/exec
 * `ProcessCustomYamlTags`): the parsers turned each tagged scalar into `"<tag> <args>"`
 * (src/yaml/functions.ts), `!include` was evaluated when its manifest was loaded
 * (src/stacks/include.ts); here the rest are evaluated the way Atmos does:
 *
 *   !env NAME [default]   the component's `env` section, then the run's environment, then the default, else ""
 *   !template <json>      the JSON parsed into a value (the text itself when it is not JSON);
 *                         one without a Go template was evaluated when its manifest loaded
 *   !repo-root [default]  the repository root
 *   !cwd [path]           the working directory (joined with the path)
 *   !exec <command>       only with `deployments.allow_exec: true`: run with `sh -c`, stdout
 *                         (trailing newlines cut) parsed as JSON, else the text
 *   !terraform.output / !terraform.state <component> [stack] <output | .yq.path>
 *                         another component of this deployment: a dependency edge and a
 *                         deferred value, exactly like `{{ terraform.<c>.outputs.<o> }}`;
 *                         any other component or stack: read from its state now
 *                         (./foreign-state.ts), or a located error saying why not
 *
 * The outputs `atmos.Component` printed in a Go template (./go-templates.ts placeholders) take
 * the same path as `!terraform.output`: a reference (an edge) and a deferred value each.
 *
 * The same functions are evaluated in `backend` and `providers` (where only a state read now
 * can be taken, no output of this deployment's components).
 * Anything else (`!store`, `!secret`, `!aws.*`, ...) is a located error: a function string
 * never reaches Terraform.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { DiagnosticBag, Location } from '../diagnostics/index.js';
import type { YamlFileCache } from '../config/files.js';
import { expandIncludes } from '../stacks/include.js';
import { isPlainMap } from '../yaml/index.js';
import { jsonOrText, splitArgs, splitFunction } from '../yaml/functions.js';
import { mapStrings, type ValuePath } from '../yaml/map-strings.js';
import { parseTerraformArgs, type ForeignRequest } from './foreign-state.js';
import type { ComponentNames } from './references.js';
import { holdsOutput, replaceOutputs } from './go-templates.js';
import { asText } from './substitute.js';
import { evaluate, type FoundRef, type TemplateScope } from './templates.js';
import type { DeferredValue } from './types.js';

type Section = DeferredValue['section'];

/** What the functions of one resolution evaluate against. */
export interface YamlFunctionContext {
  repoRoot: string;
  files: YamlFileCache;
  /** `deployments.allow_exec` in atmos.yaml. */
  allowExec: boolean;
  /** The run's environment (for `!env`). */
  env: NodeJS.ProcessEnv;
  target: string;
  /** The Atmos name of the component's stack (what a `!terraform.output` stack argument is compared with). */
  stack: string;
  names: ComponentNames;
  scope: TemplateScope;
  /** Components outside this deployment's target: read from their state (./foreign-state.ts). */
  foreign: (request: ForeignRequest, bag: DiagnosticBag) => { value: unknown } | undefined;
}

/** A component's sections with their functions evaluated, and the references to other components' outputs they made. */
export interface EvaluatedFunctions {
  sections: Record<Section, Record<string, unknown>>;
  refs: FoundRef[];
  deferred: DeferredValue[];
}

const HINTS: Record<string, string> = {
  '!store': 'atmos-pipe reads no Atmos stores: pass the value as a var in the deployment file, or declare it as a secret (secrets: in atmos.yaml or the deployment)',
  '!store.get': 'atmos-pipe reads no Atmos stores: pass the value as a var in the deployment file, or declare it as a secret (secrets: in atmos.yaml or the deployment)',
  '!secret': 'declare the secret under secrets: (atmos.yaml, the deployment or the target); atmos-pipe passes it to the component without writing it into its configuration',
  '!exec': 'allow it in atmos.yaml with deployments.allow_exec: true (the command runs with sh -c when the configuration is resolved)',
};

/** Atmos `!terraform.output` stack arguments that mean the component's own stack. */
const OWN_STACK = /^\{\{\s*\.(stack|atmos_stack)\s*\}\}$/;

function unsupported(bag: DiagnosticBag, tag: string, s: string, location: Location): void {
  const hint = HINTS[tag] ?? (tag.startsWith('!aws.') ? 'pass the value as a var, or read it with a data source inside the module' : 'replace it with a literal value (or a deployment-file template)');
  bag.error('yaml/unsupported-function', `${s}: the Atmos YAML function ${tag} is not supported by atmos-pipe`, location, hint);
}

/** The Terraform output path of `!terraform.output`'s last argument (`name`, `.name`, `.name.key`, `.name[0]`). */
function outputPath(arg: string): string[] | undefined {
  const p = (arg.startsWith('.') ? arg.slice(1) : arg).replace(/\[(\d+)\]/g, '.$1');
  const parts = p.split('.');
  return parts.every((x) => /^[A-Za-z0-9_-]+$/.test(x)) ? parts : undefined;
}

/**
 * `!terraform.output`/`!terraform.state` (Atmos pkg/function/parser `ParseTerraform`): to a
 * component of this deployment in its own stack, a reference (a dependency edge, the value
 * known after apply); to any other component or stack, the value read from its state now
 * (./foreign-state.ts). Undefined when refused (reported).
 */
function terraformOutput(tag: string, s: string, argText: string, ctx: YamlFunctionContext, bag: DiagnosticBag, location: Location): { ref: FoundRef } | { value: unknown } | undefined {
  const form = `${tag} <component> [stack] <output | .yq.path>`;
  const args = parseTerraformArgs(argText);
  if ('error' in args) {
    bag.error('yaml/function-args', `${s}: ${tag} ${args.error}`, location, `write ${form}`);
    return undefined;
  }
  const { component, expression } = args;
  const own = args.stack === undefined || args.stack === ctx.stack || args.stack === ctx.target || OWN_STACK.test(args.stack);
  if (!own || !ctx.names.terraform.has(component)) {
    const stack = own ? ctx.stack : (args.stack as string);
    return ctx.foreign({ text: s, component, stack, ownStack: own, expression, location }, bag);
  }
  const outPath = outputPath(expression);
  if (!outPath) {
    bag.error('yaml/function-args', `${s}: to a component of this deployment, only an output name or a simple yq path (.output.key, .output[0]) is supported`, location, `write ${form}`);
    return undefined;
  }
  return { ref: { expr: `terraform.${component}.outputs.${outPath.join('.')}`, ref: { kind: 'terraform', component, output: outPath[0], path: outPath }, location } };
}

/** `!exec`: the command's output, or undefined when it failed (reported). */
function execValue(command: string, ctx: YamlFunctionContext, bag: DiagnosticBag, location: Location): unknown {
  const r = spawnSync('sh', ['-c', command], { cwd: ctx.repoRoot, env: ctx.env, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}${r.stderr ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    bag.error('yaml/exec-failed', `!exec ${command} failed (${why})`, location, 'the command runs with sh -c in the repository root when the configuration is resolved');
    return undefined;
  }
  const out = r.stdout.replace(/\n+$/, '');
  return jsonOrText(out);
}

/**
 * Another component's outputs in a value: each becomes a reference (an edge), and the value a
 * deployment template (`{{ terraform.<c>.outputs.<o> }}` in place of each) deferred to the
 * run and evaluated with the outputs known now. Undefined when refused (reported).
 */
function deferOutputs(
  s: string,
  { template, refs, text }: { template: string; refs: FoundRef[]; text?: true },
  section: Section | undefined,
  valuePath: () => ValuePath,
  ctx: YamlFunctionContext,
  bag: DiagnosticBag,
  location: Location,
  out: EvaluatedFunctions,
): unknown {
  if (!section) {
    bag.error(
      'yaml/output-too-early',
      `${s}: the backend and providers of a component cannot take another component's output`,
      location,
      'they are needed before any component runs; pass the value as a literal or a var',
    );
    return s;
  }
  out.refs.push(...refs);
  out.deferred.push({ section, path: valuePath(), source: { template, location, ...(text ? { text } : {}) } });
  const value = evaluate(template, ctx.scope, ctx.names, bag, location);
  return text ? asText(value) : value;
}

/**
 * A string holding `atmos.Component` outputs (./go-templates.ts placeholders) as a deployment
 * template, and its references. As Atmos renders it (tests/fixtures/scenarios/
 * atmos-template-yaml-function README: "WITHOUT !template - Results in JSON string", "WITH
 * !template - Results in native YAML list"), the value is text unless `!template` parses it:
 * the placeholder then stands for the typed value its JSON would parse to.
 */
function componentOutputs(s: string, location: Location): { template: string; refs: FoundRef[]; text?: true } {
  const refs: FoundRef[] = [];
  const fn = splitFunction(s);
  const template = replaceOutputs(fn?.tag === '!template' ? fn.args : s, (component, outPath) => {
    const expr = `terraform.${component}.outputs.${outPath.join('.')}`;
    refs.push({ expr, ref: { kind: 'terraform', component, output: outPath[0], path: outPath }, location });
    return `{{ ${expr} }}`;
  });
  return { template, refs, ...(fn?.tag === '!template' ? {} : { text: true as const }) };
}

/** The value of one function string (the string itself when it is not one). */
function functionValue(
  s: string,
  section: Section | undefined,
  valuePath: () => ValuePath,
  envSection: Record<string, unknown>,
  ctx: YamlFunctionContext,
  bag: DiagnosticBag,
  location: Location,
  out: EvaluatedFunctions,
): unknown {
  if (holdsOutput(s)) {
    return deferOutputs(s, componentOutputs(s, location), section, valuePath, ctx, bag, location, out);
  }
  const fn = splitFunction(s);
  if (!fn) return s;
  const split = splitArgs(fn.args);
  if ('error' in split) {
    bag.error('yaml/function-args', `${s}: ${split.error}`, location);
    return s;
  }
  const args = split.map((a) => a.value);
  switch (fn.tag) {
    case '!env': {
      if (args.length < 1 || args.length > 2) {
        bag.error('yaml/function-args', `${s}: !env takes a variable name and an optional default`, location, 'write !env NAME [default]');
        return s;
      }
      if (Object.hasOwn(envSection, args[0])) return String(envSection[args[0]]);
      return ctx.env[args[0]] ?? args[1] ?? '';
    }
    case '!template':
      return jsonOrText(fn.args);
    case '!repo-root':
      return ctx.repoRoot;
    case '!cwd':
      return fn.args ? path.join(process.cwd(), fn.args) : process.cwd();
    case '!exec':
      if (!ctx.allowExec) {
        bag.error('yaml/exec-not-allowed', `${s}: !exec runs a shell command and is off unless atmos.yaml allows it`, location, HINTS['!exec']);
        return s;
      }
      return execValue(fn.args, ctx, bag, location) ?? s;
    case '!include':
    case '!include.raw':
      // Written in the deployment file (a stack manifest's were evaluated when it was loaded).
      return expandIncludes(ctx.files, s, path.resolve(ctx.repoRoot, location.file));
    case '!terraform.output':
    case '!terraform.state': {
      const got = terraformOutput(fn.tag, s, fn.args, ctx, bag, location);
      if (!got) return s;
      // Read from a state now: known before anything runs, so the backend and providers may take it too.
      if ('value' in got) return got.value;
      return deferOutputs(s, { template: `{{ ${got.ref.expr} }}`, refs: [got.ref] }, section, valuePath, ctx, bag, location, out);
    }
    default:
      unsupported(bag, fn.tag, s, location);
      return s;
  }
}

/**
 * Evaluate the YAML functions of a component's merged vars, settings and env (env first:
 * `!env` reads the component's evaluated `env` section before the run's environment).
 */
export function evaluateYamlFunctions(sections: Record<Section, Record<string, unknown>>, ctx: YamlFunctionContext, bag: DiagnosticBag, fallback: Location): EvaluatedFunctions {
  const out: EvaluatedFunctions = { sections: { ...sections }, refs: [], deferred: [] };
  for (const section of ['env', 'vars', 'settings'] as const) {
    const envSection = out.sections.env;
    const v = mapStrings(sections[section], fallback, (s, location, valuePath) => functionValue(s, section, valuePath, envSection, ctx, bag, location, out));
    out.sections[section] = isPlainMap(v) ? v : {};
  }
  return out;
}

/**
 * Evaluate the YAML functions of a component's `backend` or `providers` section. No other
 * component's output can be read there.
 */
export function evaluateStaticFunctions(
  value: Record<string, unknown>,
  envSection: Record<string, unknown>,
  ctx: YamlFunctionContext,
  bag: DiagnosticBag,
  fallback: Location,
): Record<string, unknown> {
  const out: EvaluatedFunctions = { sections: { vars: {}, settings: {}, env: {} }, refs: [], deferred: [] };
  return mapStrings(value, fallback, (s, location, valuePath) => functionValue(s, undefined, valuePath, envSection, ctx, bag, location, out)) as Record<string, unknown>;
}

/**
 * The last guard: a resolved section holding a string that is still an Atmos function call is
 * an error at that string (whatever produced it), never a value passed to Terraform.
 */
export function checkNoFunctionStrings(sections: Record<Section | 'backend' | 'providers', Record<string, unknown>>, bag: DiagnosticBag, fallback: Location): void {
  for (const section of ['vars', 'settings', 'env', 'backend', 'providers'] as const) {
    mapStrings(sections[section], fallback, (s, location) => {
      const fn = splitFunction(s);
      if (fn)
        bag.error(
          'yaml/unevaluated-function',
          `${section} holds the unevaluated Atmos YAML function "${s}"`,
          location,
          'atmos-pipe evaluates YAML functions written as YAML tags in stack and deployment files; write a literal value instead',
        );
      return s;
    });
  }
}
