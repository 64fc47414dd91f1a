/**
 * Engines run one step at a time in a prepared workspace; the scheduler (scheduler.ts) does
 * everything else (ordering, parallelism, caching, workspaces, outputs). An engine knows
 * nothing about Terraform or nixpacks.
 */
import type { Capability, Step, StepStatus } from '../steps/types.js';

export type EngineName = 'local' | 'dagger';

export interface ExecRequest {
  step: Step;
  /** Absolute workspace directory; inputs are already materialised in it. */
  workspace: string;
  /** Plain env plus secret values (never logged). */
  env: Record<string, string>;
  /** Receives the command's combined output, chunk by chunk. */
  onOutput: (chunk: Buffer) => void;
  signal: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** The command's stdout when `step.stdout` is set (the scheduler writes it to the file). */
  stdout?: Buffer;
}

/**
 * An engine's answer for one capability: it has it, or what it cannot do (a verb phrase, e.g.
 * `cannot build`) and what to do instead (the refusal's hint).
 */
export type Support = { supported: true } | { supported: false; cannot: string; hint: string };

export interface Engine {
  readonly name: EngineName;
  /** Whether the engine can run steps that require `capability` (the scheduler asks before a step runs). */
  supports(capability: Capability): Support;
  /**
   * Once per run, before any step: check tools and the sandbox. Returns notices to show
   * once (e.g. "bubblewrap not found: steps run unsandboxed"); throws a DiagnosticError
   * (exit 2) when a required tool is missing or has the wrong version.
   */
  prepare(steps: Step[], opts: { allowToolDrift: boolean }): Promise<string[]>;
  exec(req: ExecRequest): Promise<ExecResult>;
  close(): Promise<void>;
}

/** Events of a run: every view (TTY, plain CI log, NDJSON, summaries) consumes these. */
export type RunEvent =
  | {
      type: 'run.started';
      time: string;
      runId: string;
      deployment: string;
      target: string;
      pipeline: string;
      engine: EngineName;
      /** Components in the run (each expands into steps just in time, so steps are not counted upfront). */
      components: number;
      parallelism: number;
    }
  | { type: 'notice'; time: string; message: string }
  | { type: 'step.started'; time: string; id: string; component: string; module: string; fingerprint: string }
  | { type: 'step.output'; time: string; id: string; line: string }
  | {
      type: 'step.finished';
      time: string;
      id: string;
      component: string;
      module: string;
      status: StepStatus;
      fingerprint?: string;
      durationMs: number;
      exitCode?: number;
      reason?: string;
      /** Failed steps: the last lines of the log. */
      logTail?: string[];
      /** Failed steps: where the full log is kept. */
      logPath?: string;
      workspace?: string;
    }
  | {
      type: 'run.finished';
      time: string;
      runId: string;
      status: 'success' | 'failed';
      durationMs: number;
      counts: Record<StepStatus, number>;
    };

export type EventSink = (e: RunEvent) => void;
