/**
 * `plan` (SPEC 5.4): what a rollout would change, per Terraform component (add/change/destroy
 * counts), recording nothing. Not mutating: no run lock (Terraform still locks state while
 * it plans).
 */
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'plan',
  description: 'Plan every Terraform component (init + plan) and report add/change/destroy counts',
  mutates: false,
  // Says when a rollout of this tree would be refused (modified inputs); records nothing.
  previews: 'rollout',
  // Artifacts of declared component types (e.g. zip) are built (cached, reproducible) before
  // the Terraform components that bind them: a plan sees their real digests.
  buildsArtifacts: true,
  stages: [
    // Later issues add, before `plan`: build (nixpack, cached) so images bound into vars are real.
    { name: 'plan', module: useModule('terraform.plan'), appliesTo: (c) => c.type === 'terraform' },
  ],
});
