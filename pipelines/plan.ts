/**
 * `plan` (SPEC 5.4): what a rollout would change, per Terraform component (add/change/destroy
 * counts), recording nothing. Not mutating: no run lock (Terraform still locks state while
 * it plans).
 */
import { definePipeline } from 'atmos-pipe/module';
import { terraformPlan } from '../modules/terraform/index.js';

export default definePipeline({
  name: 'plan',
  description: 'Plan every Terraform component (init + plan) and report add/change/destroy counts',
  mutates: false,
  stages: [
    // Later issues add, before `plan`: build (nixpack, cached) so images bound into vars are real.
    { name: 'plan', module: terraformPlan, appliesTo: (c) => c.type === 'terraform' },
  ],
});
