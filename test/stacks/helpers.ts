import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/index.js';
import { YamlFileCache } from '../../src/config/files.js';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';
import type { ListMergeStrategy } from '../../src/stacks/merge.js';
import type { ImportSpec, LoadedStack, StackLoadOptions } from '../../src/stacks/types.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Strip the common indentation of a template literal (so YAML can be written inline). */
export function y(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const ind = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(ind)).join('\n');
}

export interface Repo {
  root: string;
  opts: StackLoadOptions;
  files: YamlFileCache;
  load(imports: (string | ImportSpec)[]): LoadedStack;
}

/** A temporary repository; keys are repo-relative paths. */
export function repo(tree: Record<string, string>, strategy: ListMergeStrategy = 'replace'): Repo {
  const root = mkdtempSync(path.join(tmpdir(), 'stacks-'));
  roots.push(root);
  for (const [rel, text] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, y(text));
  }
  const opts: StackLoadOptions = { repoRoot: root, stacksBasePath: path.join(root, 'stacks'), listMergeStrategy: strategy };
  const files = new YamlFileCache(root);
  return {
    root,
    opts,
    files,
    load: (imports) =>
      loadStack(
        imports.map((i) => (typeof i === 'string' ? { path: i } : i)),
        opts,
        files,
      ),
  };
}

export function tf(stack: LoadedStack, name: string, inherits?: string[]) {
  return resolveComponent(stack, 'terraform', name, inherits ? { inherits } : undefined);
}

/** Run `fn`, expect a DiagnosticError, return its first diagnostic. */
export function diag(fn: () => unknown): Diagnostic {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0];
    throw e;
  }
  expect.fail('expected a DiagnosticError');
}

export function where(d: Diagnostic): string {
  return d.location ? `${d.location.file}:${d.location.line}:${d.location.col}` : '<none>';
}
