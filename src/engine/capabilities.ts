/**
 * Steps declare the capabilities they need (`Step.requires`); engines declare what they
 * support (`Engine.supports`). The scheduler checks every step of a component against its
 * engine when the component is expanded, before any of its steps runs, and refuses the ones the
 * engine cannot run with the step's reason and the engine's hint: neither side names the other.
 */
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/index.js';
import type { Step } from '../steps/types.js';
import type { Engine } from './types.js';

/** Throws one DiagnosticError (exit 2) listing every requirement of `steps` the engine lacks. */
export function refuseUnsupported(engine: Pick<Engine, 'name' | 'supports'>, steps: Step[]): void {
  const refused: Diagnostic[] = [];
  for (const step of steps) {
    for (const req of step.requires ?? []) {
      const s = engine.supports(req.capability);
      if (s.supported) continue;
      const hint = req.otherwise ? `${s.hint}, or ${req.otherwise}` : s.hint;
      const d = error(`${req.code}-${engine.name}`, `${step.component} ${req.what}, which the ${engine.name} engine ${s.cannot}`, req.location, hint);
      // Steps of one component often share a requirement: said once.
      if (!refused.some((r) => r.code === d.code && r.message === d.message)) refused.push(d);
    }
  }
  if (refused.length) throw new DiagnosticError(refused);
}
