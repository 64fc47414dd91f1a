/**
 * `release` (SPEC 5.3): an immutable, content-addressed record of what would be deployed —
 * commit, image digests, SBOM and vendored digests, tool versions — stored as the annotated
 * tag `atmos/releases/<d>/<id>` and exported to `releases/<d>/<t>/release-<id>.yaml`.
 * Releasing the same thing twice is idempotent. (The build stage joins with the build issue.)
 */
import { definePipeline } from 'atmos-pipe/module';

export default definePipeline({
  name: 'release',
  description: 'Record a release of the working tree: commit, images, SBOMs, vendored digests',
  mutates: false,
  records: 'release',
  stages: [],
});
