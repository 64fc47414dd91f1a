// `atmos-pipe run verify <deployment> --target <t>`: checks every Terraform component's vars, applying nothing.
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'verify',
  description: 'Checks that every Terraform component has a region',
  mutates: false,
  stages: [{ name: 'vars', module: useModule('require-vars'), appliesTo: (c) => c.type === 'terraform', inputs: () => ({ vars: ['region'] }) }],
});
