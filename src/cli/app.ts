/**
 * The clipanion application: every command registered, argv normalised. Each command
 * imports the library only when it runs, so parsing and `--help` stay fast.
 */
import { Cli } from 'clipanion';
import { DescribeCommand } from './commands/describe.js';
import { GraphCommand } from './commands/graph.js';
import { ListCommand } from './commands/list.js';
import { ListComponentsCommand } from './commands/list-components.js';
import { ListDeploymentsCommand } from './commands/list-deployments.js';
import { ListTargetsCommand } from './commands/list-targets.js';
import { ModulesCommand } from './commands/modules.js';
import { MatrixCommand } from './commands/matrix.js';
import { CiGenerateCommand } from './commands/ci-generate.js';
import { AffectedCommand } from './commands/affected.js';
import { PromotionGraphCommand } from './commands/promotion-graph.js';
import { ValidateCommand } from './commands/validate.js';
import { FmtCommand } from './commands/fmt.js';
import { BuildCommand } from './commands/build.js';
import { PlanCommand } from './commands/plan.js';
import { RolloutCommand } from './commands/rollout.js';
import { RunCommand } from './commands/run.js';
import { TestCommand } from './commands/test.js';
import { StatusCommand } from './commands/status.js';
import { HistoryCommand } from './commands/history.js';
import { ReleasesCommand } from './commands/releases.js';
import { ApproveCommand } from './commands/approve.js';
import { ReleaseCommand } from './commands/release.js';
import { DiffCommand } from './commands/diff.js';
import { PromotionStatusCommand } from './commands/promotion-status.js';
import { SbomCommand } from './commands/sbom.js';
import { SyncCommand } from './commands/sync.js';
import { VendorPullCommand } from './commands/vendor-pull.js';
import { VendorStatusCommand } from './commands/vendor-status.js';
import { VendorCacheStatsCommand } from './commands/vendor-cache-stats.js';
import { VendorCleanCommand } from './commands/vendor-clean.js';
import { UiCommand } from './commands/ui.js';
import { CacheStatsCommand } from './commands/cache-stats.js';
import { CachePruneCommand } from './commands/cache-prune.js';
import { CompletionCommand } from './commands/completion.js';
import { type CommandSpec, commandSpec } from './spec.js';
import { InitCommand } from './commands/init.js';
import { MigrateCommand } from './commands/migrate.js';

/** Global options may come before the command (`atmos-pipe --chdir x describe`); move them after it. */
const GLOBAL_WITH_VALUE = new Set(['-C', '--chdir', '--config', '--color', '-f', '--format']);
const GLOBAL_FLAGS = new Set(['-v', '--verbose', '-q', '--quiet']);
export function normaliseArgv(argv: string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (GLOBAL_WITH_VALUE.has(name)) {
      if (eq > 0) {
        leading.push(a);
        i += 1;
      } else {
        leading.push(a, argv[i + 1] ?? '');
        i += 2;
      }
    } else if (GLOBAL_FLAGS.has(a)) {
      leading.push(a);
      i += 1;
    } else break;
  }
  if (leading.length === 0) return argv;
  const rest = argv.slice(i);
  if (rest.length === 0) return argv;
  // Command path: the leading words that are not options.
  let j = 0;
  while (j < rest.length && !rest[j].startsWith('-') && j < 3) j++;
  return [...rest.slice(0, j), ...leading, ...rest.slice(j)];
}

const COMMANDS = [
  ListCommand,
  ListDeploymentsCommand,
  ListTargetsCommand,
  ListComponentsCommand,
  DescribeCommand,
  ValidateCommand,
  FmtCommand,
  GraphCommand,
  MatrixCommand,
  CiGenerateCommand,
  AffectedCommand,
  PromotionGraphCommand,
  ModulesCommand,
  RunCommand,
  RolloutCommand,
  PlanCommand,
  BuildCommand,
  TestCommand,
  StatusCommand,
  HistoryCommand,
  ReleasesCommand,
  ApproveCommand,
  ReleaseCommand,
  DiffCommand,
  PromotionStatusCommand,
  SyncCommand,
  SbomCommand,
  VendorPullCommand,
  VendorStatusCommand,
  VendorCacheStatsCommand,
  VendorCleanCommand,
  UiCommand,
  CacheStatsCommand,
  CachePruneCommand,
  CompletionCommand,
  InitCommand,
  MigrateCommand,
];
// `init` writes the Atmos custom command that forwards every one of them.
InitCommand.commandClasses = COMMANDS;

/** What every command takes (help pages, usage errors, completion scripts). */
export function commandSpecs(): CommandSpec[] {
  return COMMANDS.map((c) => commandSpec(c));
}

/**
 * The clipanion application. Given the argv, only the commands whose first path word is the
 * argv's first word are registered (clipanion compiles a state machine over every registered
 * command, which costs more than running a read command); anything else gets them all, so
 * help, version and usage errors are answered before it (src/cli/main.ts, src/cli/help.ts).
 */
export function makeCli(version: string, argv?: string[]): Cli {
  const colors = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !process.argv.includes('--color=never');
  const cli = new Cli({ binaryName: 'atmos-pipe', binaryLabel: 'atmos-pipe', binaryVersion: version, enableCapture: false, enableColors: colors });
  const first = argv?.[0];
  // `completion` describes every command: it gets them all.
  const only = first && !first.startsWith('-') && first !== 'completion' ? COMMANDS.filter((c) => c.paths?.some((p) => p[0] === first)) : [];
  for (const c of only.length ? only : COMMANDS) cli.register(c);
  return cli;
}
