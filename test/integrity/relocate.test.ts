/**
 * Issue 11, item 4: a location-independent cache. Fingerprints hold repository-relative paths
 * only, so a copy of the whole repository (`.atmos` included, as a CI cache restore makes it)
 * at another path re-runs an unchanged rollout from the cache, and a change applies against
 * the copy's own state. Through the real CLI, real terraform, real Git and `cp -a`, on the
 * bundled example's payment-service (one nixpack image, two Terraform components).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, commitAll, exampleGitRepo } from '../security/fixture.js';

const D = 'payment-service';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** `cp -a` of the whole repository (work tree, .git and .atmos) to a new, deeper path. */
function copyRepository(dir: string): string {
  const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-ci-runner-'));
  temps.push(base);
  const dest = path.join(base, 'builds', 'checkout', 'repo');
  mkdirSync(path.dirname(dest), { recursive: true });
  const r = spawnSync('cp', ['-a', dir, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

interface StepEvent {
  type: string;
  id?: string;
  module?: string;
  status?: string;
  fingerprint?: string;
}

const events = (stdout: string): StepEvent[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StepEvent);

/** Every state file below `.atmos/state`, by repository-relative path, with its bytes. */
function states(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), readFileSync(p));
    }
  };
  walk(path.join(dir, '.atmos', 'state'));
  return out;
}

/**
 * A PATH whose `terraform` fails whatever it is asked (the version probe included): a run that
 * exits 0 with it started no terraform process.
 */
function pathWithFailingTerraform(): string {
  const bin = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-no-terraform-'));
  temps.push(bin);
  writeFileSync(path.join(bin, 'terraform'), '#!/bin/sh\necho "terraform must not run here: $*" >&2\nexit 97\n', { mode: 0o755 });
  return `${bin}:${process.env.PATH ?? ''}`;
}

describe('a copy of the repository at another path (a CI checkout, a restored cache)', () => {
  it('re-runs an unchanged rollout all cached with no terraform process; a change applies in the copy against its own state, the original state untouched', { timeout: 300_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-relocate-');
    const first = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(first.code, first.stderr).toBe(0);
    const plannedHere = JSON.parse(cli(dir, ['rollout', D, '--target', 'dev', '--dry-run', '--format', 'json']).stdout) as { steps: { id: string; fingerprint: string; status: string }[] };
    const originalStates = states(dir);
    expect([...originalStates.keys()].sort()).toEqual(['.atmos/state/payment-service/dev/ecr/api.tfstate', '.atmos/state/payment-service/dev/ecs/service-api.tfstate']);

    const copy = copyRepository(dir);
    // The same fingerprints, every one cached, before anything runs.
    const plannedThere = JSON.parse(cli(copy, ['rollout', D, '--target', 'dev', '--dry-run', '--format', 'json']).stdout) as typeof plannedHere;
    expect(plannedThere.steps.map((s) => [s.id, s.fingerprint, s.status])).toEqual(plannedHere.steps.map((s) => [s.id, s.fingerprint, 'cached']));

    // A terraform that fails first on PATH: any step that ran (or a version probe) would fail the run.
    const again = cli(copy, ['rollout', D, '--target', 'dev', '--events', 'ndjson'], { PATH: pathWithFailingTerraform() });
    expect(again.code, again.stderr).toBe(0);
    const ev = events(again.stdout);
    expect(ev.filter((e) => e.type === 'step.started')).toEqual([]);
    const finished = ev.filter((e) => e.type === 'step.finished');
    expect(finished.map((e) => e.module).sort()).toEqual([
      'nixpack.build',
      'nixpack.install',
      'terraform.apply',
      'terraform.apply',
      'terraform.init',
      'terraform.init',
      'terraform.output',
      'terraform.output',
    ]);
    expect(
      finished.every((e) => e.status === 'cached'),
      JSON.stringify(finished),
    ).toBe(true);

    // The build pipeline (nixpack) from the copy: cached too.
    const build = cli(copy, ['build', D, '--events', 'ndjson'], { PATH: pathWithFailingTerraform() });
    expect(build.code, build.stderr).toBe(0);
    const built = events(build.stdout).filter((e) => e.type.startsWith('step.'));
    expect(built.length).toBeGreaterThan(0);
    expect(built.map((e) => `${e.type} ${e.module} ${e.status}`)).toEqual(built.map((e) => `step.finished ${e.module} cached`));

    // A change in the copy: applied there, against the copy's state; the original's state is byte-identical.
    const file = path.join(copy, 'deployments', `${D}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('cluster_name: payments\n', 'cluster_name: payments-relocated\n'));
    commitAll(copy, 'another cluster name');
    const changed = cli(copy, ['rollout', D, '--target', 'dev', '--events', 'ndjson']);
    expect(changed.code, changed.stderr).toBe(0);
    const started = events(changed.stdout)
      .filter((e) => e.type === 'step.started')
      .map((e) => e.id);
    expect(started).toContain('rollout:terraform/ecs/service-api:apply');
    expect(readFileSync(path.join(copy, '.atmos/state', D, 'dev/ecs/service-api.tfstate'), 'utf8')).toContain('payments-relocated');
    const after = states(dir);
    expect([...after.keys()].sort()).toEqual([...originalStates.keys()].sort());
    for (const [rel, bytes] of originalStates) expect(after.get(rel)!.equals(bytes), `${rel} of the original changed`).toBe(true);
    expect(after.get(`.atmos/state/${D}/dev/ecs/service-api.tfstate`)!.toString('utf8')).not.toContain('payments-relocated');
    // Nothing of the copy's run was written next to the original (no state, lock or workspace there).
    expect(readdirSync(path.join(dir, '.atmos', 'state', D))).toEqual(['dev']);
  });
});
