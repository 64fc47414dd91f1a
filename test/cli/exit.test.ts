import { describe, expect, it } from 'vitest';
import { exitCode, exitCodeOf, outcomeOfError, outcomeOfRun } from '../../src/cli/exit.js';
import { DiagnosticError, error } from '../../src/diagnostics/index.js';
import { EnvironmentError } from '../../src/diagnostics/environment.js';

describe('exit codes are decided by the CLI from what the library says happened', () => {
  it('maps every outcome as SPEC 4.3 says', () => {
    expect(exitCode('success')).toBe(0);
    expect(exitCode('failed')).toBe(1);
    expect(exitCode('invalid')).toBe(2);
    expect(exitCode('refused')).toBe(3);
    expect(exitCode('locked')).toBe(4);
  });

  it('a diagnostic error exits by its kind, a usage or configuration error by default', () => {
    const d = error('x/y', 'boom');
    expect(new DiagnosticError(d).kind).toBe('invalid');
    expect(exitCodeOf(new DiagnosticError(d))).toBe(2);
    expect(exitCodeOf(new DiagnosticError(d, 'refused'))).toBe(3);
    expect(exitCodeOf(new DiagnosticError(d, 'locked'))).toBe(4);
    expect(exitCodeOf(new DiagnosticError([d, d], 'failed'))).toBe(1);
  });

  it('an environment failure or a bug is a failure (exit 1)', () => {
    expect(outcomeOfError(new EnvironmentError('writing a file', '/x', 'read-only file system (EROFS)', 'make it writable'))).toBe('failed');
    expect(exitCodeOf(new TypeError('bug'))).toBe(1);
    expect(exitCodeOf(undefined)).toBe(1);
  });

  it('a run exits 0 on success, 4 when a step failed on a held lock, else 1', () => {
    expect(outcomeOfRun({ status: 'success', results: [] })).toBe('success');
    expect(outcomeOfRun({ status: 'failed', results: [{}, { locked: { reason: 'state lock' } }] })).toBe('locked');
    expect(outcomeOfRun({ status: 'failed', results: [{}, {}] })).toBe('failed');
  });
});
