import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { componentGraph, withDependencies } from '../../src/graph/index.js';

describe('component graph', () => {
  it('computes waves as topological generations', () => {
    const g = componentGraph(
      ['a', 'b', 'c', 'd'],
      [
        { from: 'b', to: 'a', kind: 'explicit' },
        { from: 'c', to: 'a', kind: 'template' },
        { from: 'd', to: 'b', kind: 'binding' },
        { from: 'd', to: 'c', kind: 'explicit' },
      ],
    );
    expect(g.waves).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(g.dependencies.get('d')).toEqual(['b', 'c']);
    expect([...withDependencies(g, ['b'])].sort()).toEqual(['a', 'b']);
  });

  it('reports a cycle as the chain, located at its first edge', () => {
    const loc = { file: 'deployments/x.yaml', line: 7, col: 3 };
    try {
      componentGraph(
        ['terraform/a', 'terraform/b', 'terraform/c'],
        [
          { from: 'terraform/a', to: 'terraform/b', kind: 'explicit', location: loc },
          { from: 'terraform/b', to: 'terraform/a', kind: 'template', location: { file: 'deployments/x.yaml', line: 9, col: 3 } },
        ],
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DiagnosticError);
      const d = (e as DiagnosticError).diagnostics[0];
      expect(d.message).toBe('dependency cycle: terraform/a → terraform/b → terraform/a');
      expect(d.location).toEqual(loc);
    }
  });

  it('treats a self-reference as a cycle', () => {
    expect(() => componentGraph(['a'], [{ from: 'a', to: 'a', kind: 'template' }])).toThrow('dependency cycle: a → a');
  });
});
