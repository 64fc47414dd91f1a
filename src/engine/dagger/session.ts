/**
 * Running one translated step in a Dagger session: the exec (or the container build), its exit
 * code and output, and the export of the workspace and writable mounts back to the host, where
 * the scheduler collects the outputs into the CAS exactly as with the local engine.
 *
 * Output is not streamed: Dagger returns a command's output when it finishes, so `onOutput`
 * receives it in one chunk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecRequest, ExecResult } from '../types.js';
import { rootMessage, type DaggerClient } from './client.js';
import { resolveContainerLinks } from './links.js';
import { digestTree, mergeChanges } from './merge.js';
import { dockerBuildOf, isContainerBuild, translateStep } from './translate.js';

interface ExecErrorLike {
  name: 'ExecError';
  exitCode: number;
  stdout: string;
  stderr: string;
}

function isExecError(e: unknown): e is ExecErrorLike {
  return e instanceof Error && e.name === 'ExecError' && typeof (e as unknown as ExecErrorLike).exitCode === 'number';
}

/**
 * Runs one step with `client`: `redact` hides the step's secret values in any message, `nonce`
 * makes the exec run whatever Dagger has cached (see NONCE_VARIABLE); `hostEnv` is the runner's
 * environment (proxies and host tool files reach the container as on the local engine).
 */
export async function runStep(client: DaggerClient, req: ExecRequest, redact: (s: string) => string, nonce: string, hostEnv: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  const { step } = req;
  if (isContainerBuild(step)) return dockerBuild(client, req, redact);
  const { container, exports, links } = translateStep(client, req, nonce, hostEnv);
  // Noted before the first query, which is when the engine loads the mounts.
  const before = new Map(exports.filter((x) => x.changesOnly).map((x) => [x, digestTree(x.to)]));
  let exitCode: number;
  let stdout: string | undefined;
  try {
    exitCode = await container.exitCode(req.signal);
    if (step.stdout) {
      // As locally: stdout goes to the file, only stderr to the log.
      stdout = await container.stdout();
      const err = await container.stderr();
      if (err) req.onOutput(Buffer.from(err));
    } else {
      const out = await container.combinedOutput();
      if (out) req.onOutput(Buffer.from(out));
    }
  } catch (e) {
    if (isExecError(e)) {
      // Exit codes 128-191 (killed by a signal) fail the exec even with expect ANY; the
      // container has no result, so there is nothing to export.
      if (step.stdout) {
        if (e.stderr) req.onOutput(Buffer.from(e.stderr));
        return { exitCode: e.exitCode, stdout: Buffer.from(e.stdout ?? '') };
      }
      const out = [e.stdout, e.stderr].filter(Boolean).join('\n');
      if (out) req.onOutput(Buffer.from(out));
      return { exitCode: e.exitCode };
    }
    throw new Error(redact(`dagger: ${rootMessage(e)}`));
  }
  // Exported whatever the exit code: a failed `terraform apply` still writes its state, and
  // --keep-workspace shows what a failed step left behind. Never once the step timed out or was
  // cancelled: its result is no longer wanted.
  if (req.signal.aborted) throw new Error(`step ${step.id} was stopped before its files were exported`);
  try {
    for (const x of exports) {
      const dir = container.directory(x.from);
      const base = before.get(x);
      if (!base) {
        await dir.export(x.to, x.wipe ? { wipe: true } : undefined);
        if (x.from === links.workspace) await resolveContainerLinks(container, x.to, links);
        continue;
      }
      const scratch = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-dagger-export-'));
      try {
        await dir.export(scratch, { wipe: true });
        mergeChanges(scratch, x.to, base);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
  } catch (e) {
    throw new Error(redact(`dagger: exporting the step's files failed: ${rootMessage(e)}`));
  }
  return { exitCode, ...(step.stdout ? { stdout: Buffer.from(stdout ?? '') } : {}) };
}

/**
 * A Dockerfile build: the context loaded from the host (never a stale session copy), built
 * by the engine's BuildKit, the image exported as an OCI tarball into the workspace, where
 * the scheduler collects it as the step's output. The SDK returns no build log, so the log
 * says what was built; a failed build is exit 1 with the reason (and, for a failed RUN, its
 * output), never a stack.
 */

async function dockerBuild(client: DaggerClient, req: ExecRequest, redact: (s: string) => string): Promise<ExecResult> {
  const b = dockerBuildOf(req.step, req.workspace);
  const rel = path.relative(b.context, b.output);
  try {
    const dir = client.host().directory(b.context, { noCache: true });
    await dir.dockerBuild({ dockerfile: b.dockerfile }).export(b.output);
  } catch (e) {
    const lines: string[] = [];
    if (isExecError(e)) for (const s of [e.stdout, e.stderr]) if (s) lines.push(s.replace(/\n$/, ''));
    lines.push(`dagger: building ${b.dockerfile} failed: ${rootMessage(e)}`);
    req.onOutput(Buffer.from(redact(`${lines.join('\n')}\n`)));
    return { exitCode: 1 };
  }
  req.onOutput(Buffer.from(`built ${b.dockerfile} on the Dagger engine; OCI image written to ${rel}\n`));
  return { exitCode: 0 };
}
