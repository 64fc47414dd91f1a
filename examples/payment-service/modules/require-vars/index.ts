// The module of the README's "Writing a module": fails when a listed var of the component is empty.
import { defineModule } from 'atmos-pipe/module';
import { z } from 'zod';

export default defineModule({
  name: 'require-vars',
  description: 'Fails when a listed Terraform var of the component is empty',
  inputs: z.object({ vars: z.array(z.string()).describe('names of vars that must be set') }),
  steps: (ctx) => [
    {
      id: ctx.stepId('require-vars'),
      module: 'require-vars',
      component: ctx.component.address,
      image: 'alpine:3.20',
      argv: [
        '/bin/sh', '-c', 'while [ $# -gt 0 ]; do [ -n "$2" ] || { echo "$1 is empty"; exit 1; }; shift 2; done', 'check',
        ...ctx.inputs.vars.flatMap((v) => [v, String(ctx.component.vars[v] ?? '')]),
      ],
      env: {}, secrets: [], inputs: {}, outputs: {}, needs: [],
      network: false,
      cache: 'content',
    },
  ],
});
