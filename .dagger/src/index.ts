/**
 * atmos-pipe as a Dagger module (dagger.json at the repository root):
 *
 *   dagger call rollout --deployment payment-service --target dev export --path .
 *   dagger call -m github.com/<org>/atmos-pipe plan --source . --deployment d --target dev
 *
 * Each function runs the atmos-pipe CLI, built from this module's own repository, in a Node
 * container with the caller's source mounted, and with `--engine dagger`: the CLI talks to the
 * same engine through a nested session (`experimentalPrivilegedNesting`), so every step runs as
 * its own container there, exactly as `dagger run atmos-pipe …` would run it.
 *
 * A module cannot write the caller's files, so what a run writes into the working tree
 * (`.atmos/state`, `.atmos/images`, `releases/`) comes back as a Changeset (`export --path .`
 * applies it); what it records in Git (release tags, history tags, deployment refs, notes)
 * reaches the remote with `--push` and a token passed as a Secret.
 */
import { type Changeset, type Container, type Directory, type Secret, argument, dag, func, object } from '@dagger.io/dagger';

/**
 * The Node image the CLI runs in, by digest (images run by digest, as every step of the Dagger
 * engine does): `node:20-bookworm` as published on Docker Hub (bookworm, not slim: the CLI
 * needs git). No registry can be asked from where this was written: the digest is the one
 * several public projects pin and a public build log shows pulled; pass `--image` to use
 * another (README "Running on Dagger").
 */
const NODE_IMAGE = 'node:20-bookworm@sha256:8f693eaa7e0a8e71560c9a82b55fd54c2ae920a2ba5d2cde28bac7d1c01c9ba5';

/**
 * What is never sent to the engine from the caller's source: dependencies and build output
 * (the container has its own), the engine's own caches and checkouts (machine-local; state,
 * images and logs are kept). `.git` is kept: releases and history live there.
 */
const SOURCE_IGNORE = ['**/node_modules', 'dist', '.atmos/cache', '.atmos/checkouts', '.atmos/logs', '**/.terraform', 'bench/.work', '.example'];

/** What the CLI is built from (this repository): the sources, without what `npm ci` and the build recreate. */
const CLI_IGNORE = ['**/node_modules', 'dist', '.atmos', '.git', 'bench/.work', '.example', 'test', 'examples'];

/** The working-tree files a run writes: returned to the caller as a Changeset. */
const RESULT_PATHS = ['.atmos/state/**', '.atmos/images/**', 'releases/**'];

/** Where the CLI and the caller's source sit in the container. */
const CLI_DIR = '/opt/atmos-pipe';
const SOURCE_DIR = '/src';

/** The commands that run a pipeline's steps (and take `--engine`). */
const PIPELINE_COMMANDS = ['rollout', 'plan', 'build'];

/** A secret's variable name: `env:NAME` / `env://NAME`, as `--secrets env:AWS_ACCESS_KEY_ID` passes it. */
function secretVariable(uri: string): string {
  const m = /^env:(?:\/\/)?([A-Za-z_][A-Za-z0-9_]*)$/.exec(uri);
  if (!m) throw new Error(`secret ${uri}: pass secrets as env:NAME (the step reads the variable NAME), e.g. --secrets env:AWS_ACCESS_KEY_ID`);
  return m[1]!;
}

/** What every function takes besides its own arguments. */
interface RunOptions {
  source: Directory;
  cli: Directory;
  image: string;
  secrets: Secret[];
  gitToken?: Secret;
  gitHost: string;
  user: string;
}

@object()
export class AtmosPipe {
  /**
   * The atmos-pipe CLI built from this module's repository (`npm ci`, `npm run build`) in the
   * Node image; npm's cache is a cache volume.
   */
  @func()
  cli(@argument({ defaultPath: '/', ignore: CLI_IGNORE }) repository: Directory, image: string = NODE_IMAGE): Container {
    return dag
      .container()
      .from(image)
      .withMountedCache('/root/.npm', dag.cacheVolume('atmos-pipe-npm'))
      .withDirectory(CLI_DIR, repository)
      .withWorkdir(CLI_DIR)
      .withExec(['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund'])
      .withExec(['npm', 'run', 'build']);
  }

  /**
   * Rolls a deployment out to a target (`atmos-pipe rollout`): the state, release files and
   * images it wrote, as a Changeset of the source. `--push` with `--git-token` pushes the
   * release, history and deployment refs and approvals.
   */
  @func({ cache: 'never' })
  async rollout(
    deployment: string,
    target: string,
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    secrets: Secret[] = [],
    gitToken?: Secret,
    gitHost: string = 'github.com',
    push: boolean = false,
    args: string[] = [],
    user: string = 'atmos-pipe@dagger',
    image: string = NODE_IMAGE,
  ): Promise<Changeset> {
    const ran = await this.run(['rollout', deployment, '--target', target, ...(push ? ['--push'] : []), ...args], { source, cli, image, secrets, gitToken, gitHost, user });
    return this.changes(ran, source);
  }

  /** Plans a deployment for a target (`atmos-pipe plan`): its output (plans read live state, so never cached). */
  @func({ cache: 'never' })
  async plan(
    deployment: string,
    target: string,
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    secrets: Secret[] = [],
    args: string[] = [],
    image: string = NODE_IMAGE,
  ): Promise<string> {
    const ran = await this.run(['plan', deployment, '--target', target, ...args], { source, cli, image, secrets, gitHost: '', user: 'atmos-pipe@dagger' });
    return ran.stdout();
  }

  /** Builds a deployment's containers for a target (`atmos-pipe build`): the images it wrote under `.atmos/images`. */
  @func({ cache: 'never' })
  async build(
    deployment: string,
    target: string,
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    secrets: Secret[] = [],
    args: string[] = [],
    image: string = NODE_IMAGE,
  ): Promise<Directory> {
    const ran = await this.run(['build', deployment, '--target', target, ...args], { source, cli, image, secrets, gitHost: '', user: 'atmos-pipe@dagger' });
    return ran.directory(`${SOURCE_DIR}/.atmos/images`);
  }

  /**
   * Creates the release of a deployment for a target (`atmos-pipe release`): the release file,
   * as a Changeset; `--push` with `--git-token` pushes its tag.
   */
  @func({ cache: 'never' })
  async release(
    deployment: string,
    target: string,
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    gitToken?: Secret,
    gitHost: string = 'github.com',
    push: boolean = false,
    args: string[] = [],
    user: string = 'atmos-pipe@dagger',
    image: string = NODE_IMAGE,
  ): Promise<Changeset> {
    const ran = await this.run(['release', deployment, '--target', target, ...(push ? ['--push'] : []), ...args], { source, cli, image, secrets: [], gitToken, gitHost, user });
    return this.changes(ran, source);
  }

  /** The resolved deployment for a target (`atmos-pipe describe`), as JSON: a pure function of the source, cached. */
  @func()
  async describe(
    deployment: string,
    target: string,
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    image: string = NODE_IMAGE,
  ): Promise<string> {
    const ran = await this.run(['describe', deployment, '--target', target, '--format', 'json'], { source, cli, image, secrets: [], gitHost: '', user: 'atmos-pipe@dagger' });
    return ran.stdout();
  }

  /** Validates a deployment, or every one without `deployment` (`atmos-pipe validate`): a pure function of the source, cached. */
  @func()
  async validate(
    @argument({ defaultPath: '/', ignore: SOURCE_IGNORE }) source: Directory,
    @argument({ defaultPath: '/', ignore: CLI_IGNORE }) cli: Directory,
    deployment: string = '',
    image: string = NODE_IMAGE,
  ): Promise<string> {
    const ran = await this.run(['validate', ...(deployment ? [deployment] : ['--all'])], { source, cli, image, secrets: [], gitHost: '', user: 'atmos-pipe@dagger' });
    return ran.stdout();
  }

  /**
   * The CLI run once over the source (steps with `--engine dagger` through the nested session), the
   * secrets as the variables their `env:` names say (masked, never in a cache key), the Git
   * token as an HTTP header for `https://<gitHost>/` only (never in a URL or on disk).
   */
  private async run(argv: string[], o: RunOptions): Promise<Container> {
    // The pipeline commands run steps: each one a container of the same engine, reached
    // through the nested session. The others only read the source and Git.
    const pipeline = PIPELINE_COMMANDS.includes(argv[0]!);
    let c = this.cli(o.cli, o.image)
      .withDirectory(SOURCE_DIR, o.source)
      .withWorkdir(SOURCE_DIR)
      .withEnvVariable('ATMOS_PIPE_USER', o.user)
      .withEnvVariable('GIT_AUTHOR_NAME', o.user)
      .withEnvVariable('GIT_AUTHOR_EMAIL', o.user)
      .withEnvVariable('GIT_COMMITTER_NAME', o.user)
      .withEnvVariable('GIT_COMMITTER_EMAIL', o.user)
      // The source is mounted owned by another uid than the CLI's: Git would refuse it.
      .withEnvVariable('GIT_CONFIG_COUNT', o.gitToken ? '2' : '1')
      .withEnvVariable('GIT_CONFIG_KEY_0', 'safe.directory')
      .withEnvVariable('GIT_CONFIG_VALUE_0', SOURCE_DIR);
    for (const s of o.secrets) c = c.withSecretVariable(secretVariable(await s.uri()), s);
    if (o.gitToken) {
      const basic = Buffer.from(`x-access-token:${await o.gitToken.plaintext()}`).toString('base64');
      c = c
        .withEnvVariable('GIT_CONFIG_KEY_1', `http.https://${o.gitHost}/.extraHeader`)
        .withSecretVariable('GIT_CONFIG_VALUE_1', dag.setSecret('atmos-pipe-git-authorization', `Authorization: Basic ${basic}`));
    }
    if (!pipeline) return c.withExec(['node', `${CLI_DIR}/dist/cli.mjs`, ...argv]);
    return c.withExec(['node', `${CLI_DIR}/dist/cli.mjs`, ...argv, '--engine', 'dagger'], { experimentalPrivilegedNesting: true });
  }

  /** The working-tree files the run wrote ({@link RESULT_PATHS}), as changes to the caller's source. */
  private changes(ran: Container, source: Directory): Changeset {
    return ran
      .directory(SOURCE_DIR)
      .filter({ include: RESULT_PATHS })
      .changes(source.filter({ include: RESULT_PATHS }));
  }
}
