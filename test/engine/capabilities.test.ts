/**
 * Steps declare capabilities, engines declare support: the scheduler refuses a step its engine
 * cannot run before any step of its component runs (exit 2, the step's reason and the
 * engine's hint), and a capability is part of the fingerprint while tool caches and host-tool
 * advice are not.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { refuseUnsupported } from '../../src/engine/capabilities.js';
import { DaggerEngine } from '../../src/engine/dagger/index.js';
import { LocalEngine } from '../../src/engine/local.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { fingerprintData, fingerprintOf } from '../../src/steps/fingerprint.js';
import type { Step, StepRequirement } from '../../src/steps/types.js';
import { makeRepo } from '../helpers.js';

const inContainer: StepRequirement = {
  capability: 'container',
  what: 'runs in its image',
  code: 'demo/container',
  otherwise: 'drop the image',
  location: { file: 'deployments/d.yaml', line: 3, col: 5 },
};

function step(id: string, extra: Partial<Step> = {}): Step {
  return {
    id,
    module: 'demo.run',
    component: 'demo/c',
    image: 'alpine:3.20',
    argv: ['/bin/sh', '-c', 'touch ran'],
    env: {},
    secrets: [],
    inputs: {},
    outputs: {},
    needs: [],
    network: false,
    cache: 'content',
    ...extra,
  };
}

describe('capabilities', () => {
  it('the scheduler refuses a step its engine cannot run, before any step of the component runs', async () => {
    const dir = makeRepo({});
    const cacheDir = path.join(dir, '.atmos');
    const steps = [step('plain'), step('boxed', { requires: [inContainer] }), step('boxed-too', { requires: [inContainer] })];
    const s = new Scheduler({ cacheDir, runId: 'r1', engine: new LocalEngine(), parallelism: 2, keepGoing: false, noCache: false, keepWorkspace: true, allowToolDrift: false, emit: () => undefined });
    const err = await s.run([{ address: 'demo/c', deps: [], expand: async () => steps }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    const e = err as DiagnosticError;
    expect(exitCodeOf(e)).toBe(2);
    // Said once for the component, where the requirement comes from, with both ways out.
    expect(e.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'demo/container-local',
        message: 'demo/c runs in its image, which the local engine cannot run in a container',
        location: inContainer.location,
        hint: 'the local engine runs host tools and has no container runtime: run it on a Dagger engine (--engine dagger), or drop the image',
      },
    ]);
    expect(existsSync(path.join(cacheDir, 'workspaces', 'r1'))).toBe(false); // nothing ran
  });

  it('the Dagger engine supports every capability; the local engine neither containers nor container builds', () => {
    const steps = [step('a', { requires: [inContainer, { ...inContainer, capability: 'container-build', code: 'demo/build' }] })];
    expect(() => refuseUnsupported(new DaggerEngine(), steps)).not.toThrow();
    expect(() => refuseUnsupported(new LocalEngine(), [step('plain')])).not.toThrow();
    let err: DiagnosticError | undefined;
    try {
      refuseUnsupported(new LocalEngine(), steps);
    } catch (e) {
      err = e as DiagnosticError;
    }
    expect(err?.diagnostics.map((d) => d.code)).toEqual(['demo/container-local', 'demo/build-local']);
  });

  it('a required capability changes the fingerprint; tool caches and host-tool advice do not', () => {
    const ctx = { resolveRef: () => undefined, depDigest: () => undefined, secretKey: Buffer.alloc(32), secretValue: () => undefined };
    const fp = (s: Step) => fingerprintOf(fingerprintData(s, ctx));
    const base = step('a');
    expect('requires' in fingerprintData(base, ctx)).toBe(false); // a step without requirements keeps its key
    expect(fp(step('a', { requires: [inContainer] }))).not.toBe(fp(base));
    // The refusal's words are not the capability: same key.
    expect(fp(step('a', { requires: [{ ...inContainer, what: 'other words', otherwise: undefined }] }))).toBe(fp(step('a', { requires: [inContainer] })));
    expect(fp(step('a', { caches: [{ volume: 'demo-1', dir: 'demo', env: 'DEMO_CACHE' }] }))).toBe(fp(base));
    expect(fp(step('a', { hostTool: { install: 'install demo', companions: ['demo-helper'], env: ['DEMO_CONFIG'] } }))).toBe(fp(base));
  });
});
