/**
 * Notices about the machine rather than the run ("no Dagger engine found", how steps are
 * sandboxed): said once per machine and user, then only under `-v`; `-q` silences every
 * notice. What was said is remembered in the per-user state file
 * (`$XDG_STATE_HOME/atmos-pipe/notices.json`, else `~/.local/state/atmos-pipe/`); a home that
 * cannot be read or written only means the notice is said again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NO_DAGGER_NOTICE } from '../engine/select.js';

/** The notices said once per machine: they describe the host, which does not change from run to run. */
const MACHINE_NOTICES: ((message: string) => boolean)[] = [(m) => m === NO_DAGGER_NOTICE, (m) => m.startsWith('sandbox: ')];

/** The per-user state file of the notices already said. */
export function noticeStateFile(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || os.homedir();
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(base, 'atmos-pipe', 'notices.json');
}

function read(file: string): Record<string, string> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    // Not said yet, or unreadable/corrupt: say it again.
    return {};
  }
}

/** Decides, per notice, whether a human-facing view shows it (ndjson events keep every notice). */
export class NoticeGate {
  private readonly file: string;
  constructor(private readonly opts: { verbose: boolean; quiet: boolean; env: NodeJS.ProcessEnv }) {
    this.file = noticeStateFile(opts.env);
  }

  /** Whether to show `message`; a machine notice shown now is remembered. */
  show(message: string): boolean {
    if (this.opts.quiet) return false;
    if (!MACHINE_NOTICES.some((m) => m(message))) return true;
    if (this.opts.verbose) return true;
    const key = createHash('sha256').update(message).digest('hex').slice(0, 32);
    const said = read(this.file);
    if (said[key]) return false;
    said[key] = new Date().toISOString();
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(said, null, 2)}\n`);
      renameSync(tmp, this.file);
    } catch {
      // A read-only home: the notice is said again next time, which is harmless.
    }
    return true;
  }
}
