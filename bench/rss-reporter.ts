/**
 * Preloaded into measured node processes (`node --import <this> ...`) when GNU
 * `/usr/bin/time -v` is not available: writes the process's peak RSS in KiB
 * (`process.resourceUsage().maxRSS`) to $ATMOS_BENCH_RSS_FILE at exit.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.ATMOS_BENCH_RSS_FILE;
if (out) {
  process.on('exit', () => {
    try {
      writeFileSync(out, String(process.resourceUsage().maxRSS));
    } catch {
      // best effort: the benchmark reports "n/a"
    }
  });
}
