/** A realistic rollout's events (parallel steps, a cache hit, a failure, skipped dependents). */
import type { RunEvent } from '../../src/engine/types.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const FP = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

export const LOG_PATH = '/repo/.atmos/cache/logs/run-1/rollout_terraform_ecs_service-api_apply-1a2b3c4d.log';

export const TAIL = [
  'aws_ecs_service.this: Creating...',
  '\u001b[31m╷\u001b[0m',
  '\u001b[31m│\u001b[0m \u001b[1m\u001b[31mError: \u001b[0m\u001b[1mcreating ECS Service (api): InvalidParameterException: The target group does not have an associated load balancer.\u001b[0m',
  '\u001b[31m│\u001b[0m',
  '\u001b[31m│\u001b[0m   with aws_ecs_service.this,',
  '\u001b[31m│\u001b[0m   on main.tf line 12, in resource "aws_ecs_service" "this":',
  '\u001b[31m╵\u001b[0m',
];

export function rolloutEvents(): RunEvent[] {
  return [
    { type: 'run.started', time: at(0), runId: 'run-1', deployment: 'payment-service', target: 'dev', pipeline: 'rollout', engine: 'local', components: 9, parallelism: 4 },
    { type: 'notice', time: at(5), message: 'bubblewrap (bwrap) not found: steps run unsandboxed' },
    { type: 'step.finished', time: at(20), id: 'rollout:nixpack/api:build', component: 'nixpack/api', module: 'nixpack.build', status: 'cached', fingerprint: FP(1), durationMs: 3 },
    { type: 'step.started', time: at(30), id: 'rollout:terraform/ecr/api:init', component: 'terraform/ecr/api', module: 'terraform.init', fingerprint: FP(2) },
    { type: 'step.started', time: at(31), id: 'rollout:terraform/vpc/main:init', component: 'terraform/vpc/main', module: 'terraform.init', fingerprint: FP(3) },
    { type: 'step.output', time: at(200), id: 'rollout:terraform/vpc/main:init', line: 'Initializing the backend...' },
    { type: 'step.output', time: at(210), id: 'rollout:terraform/ecr/api:init', line: 'Initializing provider plugins...' },
    { type: 'step.output', time: at(220), id: 'rollout:terraform/vpc/main:init', line: '\u001b[32mTerraform has been successfully initialized!\u001b[0m' },
    {
      type: 'step.finished',
      time: at(1230),
      id: 'rollout:terraform/ecr/api:init',
      component: 'terraform/ecr/api',
      module: 'terraform.init',
      status: 'done',
      fingerprint: FP(2),
      durationMs: 1200,
      exitCode: 0,
    },
    {
      type: 'step.finished',
      time: at(1300),
      id: 'rollout:terraform/vpc/main:init',
      component: 'terraform/vpc/main',
      module: 'terraform.init',
      status: 'done',
      fingerprint: FP(3),
      durationMs: 1269,
      exitCode: 0,
    },
    { type: 'step.started', time: at(1310), id: 'rollout:terraform/ecr/api:apply', component: 'terraform/ecr/api', module: 'terraform.apply', fingerprint: FP(4) },
    { type: 'step.finished', time: at(1320), id: 'rollout:terraform/vpc/main:apply', component: 'terraform/vpc/main', module: 'terraform.apply', status: 'cached', fingerprint: FP(5), durationMs: 2 },
    { type: 'step.started', time: at(1330), id: 'rollout:terraform/ecs/service-api:init', component: 'terraform/ecs/service-api', module: 'terraform.init', fingerprint: FP(6) },
    { type: 'step.output', time: at(1400), id: 'rollout:terraform/ecr/api:apply', line: 'aws_ecr_repository.this: Creating...' },
    {
      type: 'step.finished',
      time: at(2500),
      id: 'rollout:terraform/ecs/service-api:init',
      component: 'terraform/ecs/service-api',
      module: 'terraform.init',
      status: 'done',
      fingerprint: FP(6),
      durationMs: 1170,
      exitCode: 0,
    },
    { type: 'step.started', time: at(2510), id: 'rollout:terraform/ecs/service-api:apply', component: 'terraform/ecs/service-api', module: 'terraform.apply', fingerprint: FP(7) },
    { type: 'step.output', time: at(2600), id: 'rollout:terraform/ecs/service-api:apply', line: 'aws_ecs_service.this: Creating...' },
    {
      type: 'step.finished',
      time: at(3410),
      id: 'rollout:terraform/ecr/api:apply',
      component: 'terraform/ecr/api',
      module: 'terraform.apply',
      status: 'done',
      fingerprint: FP(4),
      durationMs: 2100,
      exitCode: 0,
    },
    {
      type: 'step.finished',
      time: at(5910),
      id: 'rollout:terraform/ecs/service-api:apply',
      component: 'terraform/ecs/service-api',
      module: 'terraform.apply',
      status: 'failed',
      fingerprint: FP(7),
      durationMs: 3400,
      exitCode: 1,
      reason: 'exit 1',
      logTail: TAIL,
      logPath: LOG_PATH,
    },
    {
      type: 'step.finished',
      time: at(5920),
      id: 'terraform/dns/api:*',
      component: 'terraform/dns/api',
      module: '-',
      status: 'skipped',
      durationMs: 0,
      reason: 'needs terraform/ecs/service-api, which failed',
    },
    {
      type: 'step.finished',
      time: at(5930),
      id: 'terraform/monitoring/api:*',
      component: 'terraform/monitoring/api',
      module: '-',
      status: 'skipped',
      durationMs: 0,
      reason: 'needs terraform/dns/api, which was skipped',
    },
    { type: 'run.finished', time: at(6000), runId: 'run-1', status: 'failed', durationMs: 6000, counts: { done: 4, cached: 2, failed: 1, skipped: 2 } },
  ];
}

/** A run where everything succeeds (cached or done). */
export function successEvents(): RunEvent[] {
  return rolloutEvents()
    .filter((e) => !(e.type === 'step.finished' && e.status === 'skipped'))
    .map((e): RunEvent => {
      if (e.type === 'step.finished' && e.status === 'failed') {
        return { type: 'step.finished', time: e.time, id: e.id, component: e.component, module: e.module, status: 'done', fingerprint: e.fingerprint, durationMs: e.durationMs, exitCode: 0 };
      }
      if (e.type === 'run.finished') return { ...e, status: 'success', counts: { done: 5, cached: 2, failed: 0, skipped: 0 } };
      return e;
    });
}

/** A stream that keeps what was written. */
export class Capture {
  chunks: string[] = [];
  constructor(
    public isTTY = false,
    public columns = 100,
  ) {}
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

// eslint-disable-next-line no-control-regex
export const ESCAPE = /[\u001b\u009b]/;
