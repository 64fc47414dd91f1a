import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { TrackingReadCommand } from '../read-command.js';

export class UiCommand extends TrackingReadCommand {
  static override paths = [['ui']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Serve a read-only dashboard of what runs where',
    details: `
      A local web page: the grid of deployments × targets (release, commit, age, deployer, status; pending promotions and missing approvals), each deployment's promotion graph, its history (filterable, with the releases' artifacts, digests, vendored versions and SBOM summary), the last runs' step timelines (waves, cache hits, durations, failures with their log tail) and the diff between two targets. JSON of every view under \`/api/\`.

      It reads Git with the same functions as \`status\`, \`history\`, \`promotion-status\` and \`diff\`, plus the run records in \`.atmos/runs/\`, and keeps what it read until the Git directory changes; open pages then refresh by themselves (server-sent events). Deployment files are read once, at start.

      Listens on 127.0.0.1 unless \`--host\` says otherwise; on any other address every request needs the random token in the printed URL. Prints the URL on stdout; stops on Ctrl-C (SIGINT) or SIGTERM.
    `,
    examples: [
      ['Serve on a free port of 127.0.0.1', '$0 ui'],
      ['On port 8080, opening the browser', '$0 ui --port 8080 --open'],
      ['Reachable from other machines (token required)', '$0 ui --host 0.0.0.0'],
    ],
  });

  port = Option.String('-p,--port', '0', { description: 'Port to listen on (default: a free one)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(0, 65535)]) });
  host = Option.String('--host', '127.0.0.1', { description: 'Address to listen on (non-loopback addresses require the token in the URL)' });
  open = Option.Boolean('--open', false, { description: 'Open the page in the default browser (xdg-open, open or start)' });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const path = await import('node:path');
    const repo = await this.repoWithModules();
    const root = repo.config.repoRoot;
    const { uiDeployments } = await import('../../ui/deployments.js');
    const deployments = uiDeployments(repo);
    const { gitRead } = await import('../tracking-read.js');
    const git = await gitRead(() => this.trackingStore(repo));
    const gitDir = await gitRead(async () => path.resolve(root, (await git.run(['rev-parse', '--git-common-dir'])).text.trim()));
    const { UiData } = await import('../../ui/data.js');
    const { startUi, isLoopback } = await import('../../ui/server.js');
    const { randomBytes } = await import('node:crypto');
    const token = isLoopback(this.host) ? undefined : randomBytes(24).toString('base64url');
    let server: Awaited<ReturnType<typeof startUi>>;
    try {
      server = await startUi({ data: new UiData({ git, runsDir: path.join(repo.config.cacheDir, 'runs'), deployments }), host: this.host, port: Number(this.port), gitDir, token });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES' || err.code === 'ENOTFOUND') {
        throw new lib.DiagnosticError(lib.error('ui/listen', `cannot listen on ${this.host}:${this.port}: ${err.code}`, undefined, 'choose another --port (0: a free one) or --host'));
      }
      throw e;
    }
    this.write(`${server.url}\n`);
    if (!this.quiet) this.context.stderr.write(`atmos-pipe ui: serving ${deployments.length} deployment${deployments.length === 1 ? '' : 's'} read-only; Ctrl-C to stop\n`);
    if (this.open) {
      const { spawn } = await import('node:child_process');
      const cmd = process.platform === 'darwin' ? ['open', server.url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '', server.url] : ['xdg-open', server.url];
      const child = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore', detached: true });
      child.on('error', () => this.context.stderr.write(`atmos-pipe ui: could not open a browser (${cmd[0]}); open ${server.url}\n`));
      child.unref();
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    return 0;
  }
}
