/**
 * `rollout` (SPEC 5.4): apply every Terraform component of a deployment's target, in
 * dependency order, each in its own isolated workspace. Mutating: it takes the run lock of
 * the deployment and target.
 */
import { definePipeline, useModule } from 'atmos-pipe/module';

export default definePipeline({
  name: 'rollout',
  description: 'Apply every Terraform component (init + apply) in dependency order',
  mutates: true,
  // Before the stages: release (idempotent) and the promotion and approval checks; after
  // them: history tags and deployment refs in Git (src/rollout).
  records: 'deployment',
  // Artifacts of declared component types (e.g. zip), before the Terraform components that
  // bind them: deterministic and cached, so a rollout's rebuild is a cache hit.
  buildsArtifacts: true,
  stages: [
    // The build stage (nixpack, cached) joins before `apply` with the build issue.
    { name: 'apply', module: useModule('terraform.apply'), appliesTo: (c) => c.type === 'terraform' },
  ],
});
