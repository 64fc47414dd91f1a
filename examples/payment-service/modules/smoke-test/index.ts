// A step hook for `steps.after_apply`: compares a value the component produced (a Terraform
// output, through `{{ self.outputs.<o> }}`) with the value it must have, offline, and fails
// the component (so the rollout) when they differ. The check is a sandboxed process with the
// two values as arguments, cached by content: a re-run that applies nothing new checks
// nothing new.
import { defineModule } from 'atmos-pipe/module';
import { z } from 'zod';

export default defineModule({
  name: 'smoke-test',
  description: 'Fails the component when a value it produced differs from the expected one',
  inputs: z.strictObject({
    check: z.string().describe('what is checked, printed with the result'),
    expect: z.string().describe('the value it must have'),
    actual: z.string().describe('the value it has, e.g. "{{ self.outputs.<name> }}"'),
  }),
  steps: (ctx) => [
    {
      id: ctx.stepId('smoke-test'),
      module: 'smoke-test',
      component: ctx.component.address,
      image: 'alpine:3.20',
      argv: [
        '/bin/sh',
        '-c',
        'if [ "$2" = "$3" ]; then echo "smoke test passed: $1"; else echo "smoke test failed: $1: expected $2, got $3" >&2; exit 1; fi',
        'smoke-test',
        ctx.inputs.check,
        ctx.inputs.expect,
        ctx.inputs.actual,
      ],
      env: {},
      secrets: [],
      inputs: {},
      outputs: {},
      needs: [],
      network: false,
      cache: 'content',
    },
  ],
});
