/**
 * The CI's own log syntax (SPEC 10): collapsible groups and located annotations, as each CI
 * documents them. Plain text everywhere else: a CI without groups gets no markers.
 */
import type { Diagnostic } from '../diagnostics/index.js';
import type { CiProviderId } from './provider.js';

/** Markers that open and close a collapsible section of the log, for one CI. */
export interface LogGroups {
  /** The line(s) opening a section titled `title` (no trailing newline). */
  start(title: string, time: Date): string;
  /** The line closing it; undefined when the CI closes a section at the next one (Buildkite). */
  end(title: string, time: Date): string | undefined;
}

/** GitLab section names allow letters, digits, `_`, `.` and `-` only. */
function gitlabSection(title: string): string {
  return title.replace(/[^A-Za-z0-9_.-]/g, '_');
}

const ESC = '\u001b';

const GROUPS: Partial<Record<CiProviderId, LogGroups>> = {
  github: { start: (t) => `::group::${escapeGithubData(t)}`, end: () => '::endgroup::' },
  // https://docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections
  gitlab: {
    start: (t, time) => `${ESC}[0Ksection_start:${Math.floor(time.getTime() / 1000)}:${gitlabSection(t)}[collapsed=true]\r${ESC}[0K${t}`,
    end: (t, time) => `${ESC}[0Ksection_end:${Math.floor(time.getTime() / 1000)}:${gitlabSection(t)}\r${ESC}[0K`,
  },
  // `---` opens a collapsed group that lasts until the next one.
  buildkite: { start: (t) => `--- ${t}`, end: () => undefined },
  azure: { start: (t) => `##[group]${t}`, end: () => '##[endgroup]' },
};

/** The group markers of a CI, or undefined when its log has no collapsible sections. */
export function logGroups(id: CiProviderId | undefined): LogGroups | undefined {
  return id ? GROUPS[id] : undefined;
}

/** GitHub workflow-command data: `%`, CR and LF escaped (docs: "workflow commands", escaping). */
function escapeGithubData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** GitHub workflow-command property values also escape `:` and `,`. */
function escapeGithubProperty(s: string): string {
  return escapeGithubData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** The diagnostic's message with its hint, as one annotation text. */
function annotationText(d: Diagnostic): string {
  return d.hint ? `${d.message}\n${d.hint}` : d.message;
}

/**
 * A diagnostic as the CI's annotation line (`::error file=…,line=…,col=…::` on GitHub,
 * `##vso[task.logissue …]` on Azure), shown on the file in the run's page; undefined for a
 * CI without line annotations (GitLab gets a code-quality report instead: reports.ts).
 */
export function annotation(id: CiProviderId | undefined, d: Diagnostic): string | undefined {
  const loc = d.location;
  if (id === 'github') {
    const props = [...(loc ? [`file=${escapeGithubProperty(loc.file)}`, `line=${loc.line}`, `col=${loc.col}`] : []), `title=${escapeGithubProperty(`atmos-pipe ${d.code}`)}`];
    return `::${d.severity === 'error' ? 'error' : 'warning'} ${props.join(',')}::${escapeGithubData(annotationText(d))}`;
  }
  if (id === 'azure') {
    const props = [`type=${d.severity}`, ...(loc ? [`sourcepath=${loc.file}`, `linenumber=${loc.line}`, `columnnumber=${loc.col}`] : []), `code=${d.code}`];
    // Azure logging commands are one line: the message's line breaks become spaces.
    return `##vso[task.logissue ${props.join(';')}]${annotationText(d).replace(/[\r\n]+/g, ' ')}`;
  }
  return undefined;
}
