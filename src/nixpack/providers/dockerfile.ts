import { DiagnosticError, error } from '../../diagnostics/index.js';
import type { BuildPlan } from '../types.js';
import type { SourceTree } from './app.js';
import type { Found, Provider } from './provider.js';

/**
 * The Dockerfile escape hatch (`settings.nixpack.dockerfile_escape: true`): the
 * engine builds the service's own `Dockerfile`. The plan only records that, and the
 * base image of the final stage; there are no phases and no start command (the
 * Dockerfile's CMD/ENTRYPOINT apply).
 */

export const DOCKERFILE = 'Dockerfile';

/** Logical lines (continuations joined) with the 1-based line each starts on. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const raw = text.split(/\r?\n/);
  let buf = '';
  let startLine = 0;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i];
    if (!buf && /^\s*#/.test(l)) continue;
    if (!buf) startLine = i + 1;
    if (/\\\s*$/.test(l)) {
      buf += l.replace(/\\\s*$/, ' ');
      continue;
    }
    buf += l;
    if (buf.trim()) out.push({ line: startLine, text: buf.trim() });
    buf = '';
  }
  if (buf.trim()) out.push({ line: startLine, text: buf.trim() });
  return out;
}

/** The base image of the final stage, following stage aliases and ARG defaults declared before the first FROM. */
export function finalBaseImage(app: SourceTree): string {
  const args = new Map<string, string>();
  const stages = new Map<string, string>();
  let last: string | undefined;
  let seenFrom = false;
  for (const { text } of logicalLines(app.read(DOCKERFILE))) {
    const [instr0, ...rest] = text.split(/\s+/);
    const instr = instr0.toUpperCase();
    if (instr === 'ARG' && !seenFrom) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(rest.join(' '));
      if (m && m[2] !== undefined) args.set(m[1], m[2].replace(/^["']|["']$/g, ''));
    } else if (instr === 'FROM') {
      seenFrom = true;
      const words = rest.filter((w) => !w.startsWith('--'));
      let image = (words[0] ?? '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, name: string) => args.get(name) ?? all);
      image = stages.get(image.toLowerCase()) ?? image;
      if (words.length >= 3 && words[1].toUpperCase() === 'AS') stages.set(words[2].toLowerCase(), image);
      last = image;
    }
  }
  if (!last) {
    throw new DiagnosticError(error('nixpack/dockerfile-invalid', `${DOCKERFILE} has no FROM instruction`, app.location(DOCKERFILE), 'a Dockerfile starts its (first) stage with FROM <image>'));
  }
  return last;
}

export const dockerfile: Provider = {
  name: 'dockerfile',
  looksFor: 'Dockerfile (only with settings.nixpack.dockerfile_escape: true)',
  detect(app): Found | undefined {
    return app.hasFile(DOCKERFILE) ? { evidence: DOCKERFILE } : undefined;
  },
  plan(app): BuildPlan {
    return {
      providers: ['dockerfile'],
      buildImage: finalBaseImage(app),
      variables: {},
      phases: {},
      start: { cmd: null },
    };
  },
};
