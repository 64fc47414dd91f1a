/**
 * The CI-native side of a command's output (SPEC 10): located errors as the CI's annotations
 * and GitLab code-quality report, a run's outputs as step outputs or a dotenv, its steps as
 * a JUnit report. Each function does nothing outside the CI it is for.
 */
import { annotation } from '../../ci/log.js';
import type { CiProviderId } from '../../ci/provider.js';
import { codeQualityReport, writeCiOutputs, writeGitlabReport, type CiOutputs, type ReportsWritten } from '../../ci/reports.js';
import type { Diagnostic } from '../../diagnostics/index.js';
import type { RunEvent } from '../../engine/types.js';
import { junitXml } from '../../output/junit.js';
import type { PipelineRunResult } from '../../run/pipeline-run.js';

/** The annotation lines for the diagnostics (errors and warnings), for stderr. */
export function annotationLines(ci: CiProviderId | undefined, diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => annotation(ci, d))
    .filter((l): l is string => l !== undefined)
    .map((l) => `${l}\n`)
    .join('');
}

/** Located problems for the CI: annotations on stderr, and on GitLab the code-quality report. */
export function reportDiagnostics(ci: CiProviderId | undefined, diags: readonly Diagnostic[], stderr: { write(s: string): unknown }, cwd: string): ReportsWritten {
  stderr.write(annotationLines(ci, diags));
  return writeGitlabReport(ci, 'codequality', codeQualityReport(diags), cwd);
}

/** The release and images of a pipeline command's result. */
export function outputsOf(result: PipelineRunResult): CiOutputs {
  const images: Record<string, string> = {};
  if (result.kind === 'release') {
    for (const [c, img] of Object.entries(result.release.record.images)) images[`nixpack/${c}`] = img.ref;
    return { release_id: result.release.id, images };
  }
  if (result.kind !== 'run') return { images };
  for (const [addr, o] of Object.entries(result.summary.componentOutputs)) if (addr.startsWith('nixpack/') && typeof o.image === 'string') images[addr] = o.image;
  const rel = result.tracked?.release;
  if (rel) for (const [c, img] of Object.entries(rel.record.images)) images[`nixpack/${c}`] ??= img.ref;
  return { ...(rel ? { release_id: rel.id } : {}), images };
}

/** A run's outputs and, on GitLab, its JUnit report: what later jobs and the pipeline page use. */
export function reportRun(ci: CiProviderId | undefined, result: PipelineRunResult, events: RunEvent[] | undefined, cwd: string): ReportsWritten {
  const a = writeCiOutputs(ci, outputsOf(result), cwd);
  const b = events ? writeGitlabReport(ci, 'junit', junitXml(events), cwd) : { files: [], warnings: [] };
  return { files: [...a.files, ...b.files], warnings: [...a.warnings, ...b.warnings] };
}
