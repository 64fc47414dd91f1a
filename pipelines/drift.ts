/**
 * `drift` (`status --check-drift`): plan every Terraform component of a target with
 * `-detailed-exitcode` and report, per component, whether applying it would change anything.
 * Records nothing and takes no run lock (Terraform still locks the state while it plans). Not
 * one of the pipelines `run` offers: the status command runs it.
 */
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'drift',
  description: 'Plan every Terraform component (init + plan -detailed-exitcode) and report drift per component',
  mutates: false,
  // Artifacts bound into variables (e.g. zip digests) are built (cached) first, as for plan:
  // a plan with a made-up digest would report drift that is not there.
  buildsArtifacts: true,
  // Named `drift`, not `plan`: the deployment's before_plan/after_plan hooks do not run.
  stages: [{ name: 'drift', module: useModule('terraform.drift'), appliesTo: (c) => c.type === 'terraform' }],
});
