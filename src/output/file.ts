/**
 * Files the user names on the command line (`sbom --output`, `--junit-xml`) are written like a
 * shell redirection (`> file`): an existing path is opened for writing and truncated,
 * following a symbolic link to its target, so a link stays a link, a FIFO is fed, and
 * `/dev/null` or `/dev/stdout` work — never replaced by a regular file. A path that does not
 * exist yet is created atomically (temp file + rename), so nobody sees it half written.
 */
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../cache/cas.js';

export function writeOutputFile(file: string, data: string | Buffer): void {
  let exists = false;
  try {
    lstatSync(file);
    exists = true;
  } catch {
    // Not there (or not reachable): the write below creates it, or reports why it cannot.
    exists = false;
  }
  if (!exists) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, data);
    return;
  }
  // A dangling link: create its target, as the shell would (the link itself stays).
  const flags = constants.O_WRONLY | constants.O_TRUNC | (existsSync(file) ? 0 : constants.O_CREAT);
  const fd = openSync(file, flags, 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
}
