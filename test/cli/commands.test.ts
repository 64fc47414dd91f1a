import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const DIR = path.join(ROOT, 'src/cli/commands');

describe('src/cli/commands', () => {
  it('holds one command per file, named after its path', () => {
    for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(DIR, f), 'utf8');
      const classes = [...text.matchAll(/^export class (\w+)/gm)].map((m) => m[1]);
      expect(classes, f).toHaveLength(1);
      expect(text.match(/^(abstract )?class /gm), f).toBeNull();
      const paths = /static override paths = \[\[([^\]]*)\]/.exec(text)?.[1];
      expect(paths?.replace(/'/g, '').split(', ').join('-'), f).toBe(f.replace(/\.ts$/, ''));
    }
  });

  it('decides no exit code of its own: outcomes go through src/cli/exit.ts', () => {
    for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(path.join(DIR, f), 'utf8');
      expect(text, f).not.toMatch(/return [1-9]\d*;|\? [1-9] : 0/);
    }
  });
});
