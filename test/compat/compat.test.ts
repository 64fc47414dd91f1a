/**
 * Atmos compatibility suite (SPEC 3.1).
 *
 * Every directory under `fixtures/` re-creates a scenario of the public cloudposse/atmos
 * repository (its fixtures, snapshots, Go tests or documentation examples). Its
 * `expected.json` records what real Atmos prints for `atmos describe component <c> -s <stack>`
 * (only the fields known for sure, each with the Atmos source it comes from):
 *
 *   [{ "stack_file": "deploy/dev.yaml", "component": "c1",
 *      "expected": { "vars": {...}, "settings"?: {...}, ... },      // or
 *      "expected_error": "what Atmos fails with",
 *      "source": "atmos repo path(s)" }]
 *
 * A top-level stack file X is loaded as the virtual stack whose imports are `[X]`; with a
 * single top-level stack file SPEC 3.1 requires the result to equal what Atmos resolves.
 * The list merge strategy comes from the fixture's atmos.yaml `settings.list_merge_strategy`,
 * the GitHub integration settings from its `integrations.github`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';
import type { ListMergeStrategy } from '../../src/stacks/index.js';
import { YamlFileCache } from '../../src/config/files.js';
import { withHclIncludes } from '../../src/stacks/include.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Fields of `ResolvedStackComponent` an expectation may record (compared with toEqual). */
const FIELDS = ['vars', 'settings', 'env', 'backend_type', 'backend', 'providers', 'metadata', 'component', 'inheritance', 'abstract', 'enabled'] as const;
type Field = (typeof FIELDS)[number];

interface Expectation {
  stack_file: string;
  component: string;
  /** Component type; Atmos fixtures here are all Terraform. */
  type?: 'terraform' | 'helmfile';
  expected?: Partial<Record<Field, unknown>>;
  /** Atmos fails for this stack; the text is what Atmos says (atmos-pipe's wording may differ). */
  expected_error?: string;
  source: string;
}

interface Scenario {
  name: string;
  dir: string;
  strategy: ListMergeStrategy;
  integrationsGithub: Record<string, unknown> | undefined;
  expectations: Expectation[];
}

function listMergeStrategyOf(dir: string): ListMergeStrategy {
  const file = path.join(dir, 'atmos.yaml');
  if (!existsSync(file)) return 'replace';
  const doc = parseYaml(readFileSync(file, 'utf8')) as { settings?: { list_merge_strategy?: unknown } } | null;
  const s = doc?.settings?.list_merge_strategy;
  if (s === undefined || s === null || s === '') return 'replace';
  if (s === 'replace' || s === 'append' || s === 'merge') return s;
  throw new Error(`${file}: unknown settings.list_merge_strategy ${JSON.stringify(s)}`);
}

/** The fixture's atmos.yaml `integrations.github` (merged into every component's settings). */
function integrationsGithubOf(dir: string): Record<string, unknown> | undefined {
  const file = path.join(dir, 'atmos.yaml');
  if (!existsSync(file)) return undefined;
  const doc = parseYaml(readFileSync(file, 'utf8')) as { integrations?: { github?: Record<string, unknown> } } | null;
  return doc?.integrations?.github;
}

function loadScenarios(): Scenario[] {
  return readdirSync(FIXTURES)
    .filter((n) => statSync(path.join(FIXTURES, n)).isDirectory())
    .sort()
    .map((name) => {
      const dir = path.join(FIXTURES, name);
      const expectations = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expectation[];
      for (const e of expectations) {
        if (!e.source) throw new Error(`${name}: expectation for ${e.component} in ${e.stack_file} has no source`);
        if ((e.expected === undefined) === (e.expected_error === undefined)) {
          throw new Error(`${name}: expectation for ${e.component} in ${e.stack_file} needs exactly one of expected / expected_error`);
        }
        for (const k of Object.keys(e.expected ?? {})) {
          if (!(FIELDS as readonly string[]).includes(k)) throw new Error(`${name}: unknown expected field "${k}"`);
        }
      }
      return { name, dir, strategy: listMergeStrategyOf(dir), integrationsGithub: integrationsGithubOf(dir), expectations };
    });
}

/** `deploy/dev.yaml` -> `deploy/dev` (the import path Atmos would use for the stack manifest). */
function importPathOf(stackFile: string): string {
  return stackFile.replace(/\.(ya?ml)(\.tmpl)?$/, '');
}

function resolve(s: Scenario, e: Expectation) {
  const files = new YamlFileCache(s.dir);
  const stack = loadStack(
    [{ path: importPathOf(e.stack_file) }],
    { repoRoot: s.dir, stacksBasePath: path.join(s.dir, 'stacks'), listMergeStrategy: s.strategy, integrationsGithub: s.integrationsGithub },
    files,
  );
  return resolveComponent(stack, e.type ?? 'terraform', e.component);
}

/** {@link resolve}, first parsing the HCL files a manifest includes (`!include x.tfvars`; the HCL parser is asynchronous, as in the resolver). */
async function resolveWithHcl(s: Scenario, e: Expectation) {
  return withHclIncludes(() => resolve(s, e));
}

const scenarios = loadScenarios();

describe('Atmos compatibility', () => {
  it('has fixtures', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(8);
  });

  for (const s of scenarios) {
    describe(s.name, () => {
      for (const e of s.expectations) {
        const title = `${e.stack_file} › ${e.type ?? 'terraform'}/${e.component}`;
        if (e.expected_error !== undefined) {
          it(`${title} fails like Atmos`, () => {
            // Atmos: e.expected_error (source: e.source)
            expect(() => resolve(s, e), `Atmos fails here (${e.source})`).toThrow();
          });
          continue;
        }
        it(title, async () => {
          const c = (await resolveWithHcl(s, e)) as unknown as Record<string, unknown>;
          for (const [field, want] of Object.entries(e.expected ?? {})) {
            expect.soft(c[field], `${s.name}: ${e.component} in ${e.stack_file}: "${field}" (Atmos source: ${e.source})`).toEqual(want);
          }
        });
      }
    });
  }
});
