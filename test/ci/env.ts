/** Test helper: an environment for a spawned CLI that no CI variable of the test's own machine leaks into. */

/** This process's environment without any CI's variables (the tests may themselves run in a CI). */
export function envWithoutCi(): Record<string, string> {
  const ci = /^(CI|CI_.*|GITHUB_.*|GITLAB_.*|RUNNER_.*|CIRCLE.*|BUILDKITE.*|JENKINS_.*|BUILD_.*|TF_BUILD|SYSTEM_.*|AGENT_.*|BITBUCKET_.*|DRONE.*|ATMOS_PIPE_USER)$/;
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !ci.test(e[0])));
}
