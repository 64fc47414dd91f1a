/**
 * `rollout` (SPEC 5.4): apply every Terraform component of a deployment's target, in
 * dependency order, each in its own isolated workspace. Mutating: it takes the run lock of
 * the deployment and target.
 */
import { definePipeline } from '../src/api/index.js';
import { terraformApply } from '../modules/terraform/index.js';

export default definePipeline({
  name: 'rollout',
  description: 'Apply every Terraform component (init + apply) in dependency order',
  mutates: true,
  stages: [
    // Later issues add, before `apply`: build (nixpack, cached) → release (idempotent) →
    // promotion/approval checks; and after it: tracking in Git (SPEC 6).
    { name: 'apply', module: terraformApply, appliesTo: (c) => c.type === 'terraform' },
  ],
});
