/**
 * What a run leaves for the CI besides its log (SPEC 10): step outputs on GitHub
 * (`$GITHUB_OUTPUT`), and on GitLab the reports a job declares under `artifacts:reports`
 * (a code-quality report of the located configuration errors, a dotenv of the outputs, a
 * JUnit file of the steps). Their text is masked like the log (a failed step's log tail may
 * print a secret). Writing them never changes a command's result: a report that cannot be
 * written is returned as a warning text.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/index.js';
import { secrets } from '../secrets/mask.js';
import type { CiProviderId } from './provider.js';

type Env = NodeJS.ProcessEnv | Record<string, string | undefined>;

/** What later jobs may use from a run: the release it made or rolled out, the images it built. */
export interface CiOutputs {
  release_id?: string;
  /** Image reference by digest, per nixpack component address (`nixpack/api` → `api@sha256:…`). */
  images: Record<string, string>;
}

/** The file names of the GitLab reports, inside {@link reportsDir}; the generated pipeline declares them. */
export const GITLAB_REPORTS = { codequality: 'gl-code-quality-report.json', dotenv: 'atmos-pipe.env', junit: 'junit.xml' } as const;

/** Where the reports go: `ATMOS_PIPE_REPORTS_DIR` (relative to `cwd`), else `.atmos/reports`. */
export function reportsDir(cwd: string, env: Env = process.env): string {
  return path.resolve(cwd, env.ATMOS_PIPE_REPORTS_DIR?.trim() || '.atmos/reports');
}

/** `nixpack/api` → `API`: the part of a variable name that says which image. */
function envKey(component: string): string {
  return component
    .replace(/^nixpack\//, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/**
 * The GitLab code-quality report (the Code Climate subset GitLab reads): one issue per located
 * diagnostic, fingerprinted by code, place and message so a merge request shows new ones only.
 */
export function codeQualityReport(diags: readonly Diagnostic[]): string {
  const issues = diags
    .filter((d) => d.location)
    .map((d) => {
      const loc = d.location!;
      return {
        description: d.hint ? `${d.message} (${d.hint})` : d.message,
        check_name: d.code,
        fingerprint: createHash('sha256').update(`${d.code}\0${loc.file}\0${loc.line}\0${loc.col}\0${d.message}`).digest('hex'),
        severity: d.severity === 'error' ? 'major' : 'minor',
        location: { path: loc.file, lines: { begin: loc.line } },
      };
    });
  return `${JSON.stringify(issues, null, 2)}\n`;
}

/** The outputs as a dotenv file (`ATMOS_RELEASE_ID=…`, `ATMOS_IMAGE_API=…`) for `artifacts:reports:dotenv`. */
export function dotenv(o: CiOutputs): string {
  const lines: string[] = [];
  if (o.release_id) lines.push(`ATMOS_RELEASE_ID=${o.release_id}`);
  for (const [c, ref] of Object.entries(o.images).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`ATMOS_IMAGE_${envKey(c)}=${ref}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The outputs as `$GITHUB_OUTPUT` lines: `release_id`, `images` (JSON), `image_<name>`. */
function githubOutputs(o: CiOutputs): string {
  const lines: string[] = [];
  if (o.release_id) lines.push(`release_id=${o.release_id}`);
  const images = Object.entries(o.images).sort(([a], [b]) => (a < b ? -1 : 1));
  if (images.length) {
    lines.push(`images=${JSON.stringify(Object.fromEntries(images))}`);
    for (const [c, ref] of images) lines.push(`image_${envKey(c).toLowerCase()}=${ref}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** What writing a report did: the files written, and why one could not be. */
export interface ReportsWritten {
  files: string[];
  warnings: string[];
}

function attempt(out: ReportsWritten, file: string, write: () => void): void {
  try {
    write();
    out.files.push(file);
  } catch (e) {
    out.warnings.push(`could not write the CI report ${file}: ${(e as Error).message}`);
  }
}

/** A run's outputs for the CI: `$GITHUB_OUTPUT` on GitHub, the dotenv report on GitLab; nothing elsewhere. */
export function writeCiOutputs(ci: CiProviderId | undefined, o: CiOutputs, cwd: string, env: Env = process.env): ReportsWritten {
  const out: ReportsWritten = { files: [], warnings: [] };
  if (ci === 'github' && env.GITHUB_OUTPUT) {
    const text = githubOutputs(o);
    if (text) attempt(out, env.GITHUB_OUTPUT, () => appendFileSync(env.GITHUB_OUTPUT!, secrets.mask(text)));
  } else if (ci === 'gitlab') {
    const text = dotenv(o);
    const dir = reportsDir(cwd, env);
    const file = path.join(dir, GITLAB_REPORTS.dotenv);
    if (text)
      attempt(out, file, () => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, secrets.mask(text));
      });
  }
  return out;
}

/** On GitLab, a report file in {@link reportsDir} (the JUnit of a run, the code-quality report of a failure). */
export function writeGitlabReport(ci: CiProviderId | undefined, name: keyof typeof GITLAB_REPORTS, content: string, cwd: string, env: Env = process.env): ReportsWritten {
  const out: ReportsWritten = { files: [], warnings: [] };
  if (ci !== 'gitlab') return out;
  const dir = reportsDir(cwd, env);
  const file = path.join(dir, GITLAB_REPORTS[name]);
  attempt(out, file, () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, secrets.mask(content));
  });
  return out;
}
