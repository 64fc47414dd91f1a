#!/usr/bin/env node
/**
 * atmos-pipe command line entry point. Kept tiny: `--version` answers without loading
 * anything else; everything else loads the clipanion application.
 */
import { readFileSync } from 'node:fs';

/** Set by the bundler (build.mjs); read from package.json when running the tsc output. */
declare const __ATMOS_PIPE_VERSION__: string | undefined;
const version: string =
  typeof __ATMOS_PIPE_VERSION__ === 'string' ? __ATMOS_PIPE_VERSION__ : (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const raw = process.argv.slice(2);
  if (raw.length === 1 && (raw[0] === '--version' || raw[0] === '-V' || raw[0] === 'version')) {
    process.stdout.write(`${version}\n`);
    return;
  }
  // Everything printed, usage errors included (they echo the command line), goes through the
  // one masker: URL credentials and secret values become ***.
  (await import('../secrets/mask.js')).maskProcessOutput();
  const { commandSpecs, makeCli, normaliseArgv } = await import('./app.js');
  const argv = normaliseArgv(raw);
  const help = await import('./help.js');
  const asked = help.answerHelp(argv, commandSpecs(), version);
  if (asked) {
    process.stdout.write(asked.stdout ?? '');
    process.stderr.write(asked.stderr ?? '');
    process.exitCode = asked.code;
    return;
  }
  const cli = makeCli(version, argv);
  let command: ReturnType<typeof cli.process>;
  try {
    command = cli.process(argv, {});
  } catch (e) {
    // Unknown command, unknown option, missing argument, bad option value: one line, exit 2.
    const answer = help.answerUsageError(argv, commandSpecs(), (e as Error).message ?? String(e));
    process.stderr.write(answer.stderr ?? '');
    process.exitCode = answer.code;
    return;
  }
  process.exitCode = await cli.run(command, {});
  // Refused input or a refused run writes nothing: not even the caches made on the way (src/cache/provisional.ts).
  const { exitCode } = await import('./exit.js');
  if (process.exitCode === exitCode('invalid') || process.exitCode === exitCode('refused')) (await import('../cache/provisional.js')).discardCreated();
}

await main();
