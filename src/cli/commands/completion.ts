import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { SHELLS } from '../completion.js';
import { BaseCommand } from '../base.js';

/** `completion bash|zsh|fish`: a completion script generated from the registered commands. */
export class CompletionCommand extends BaseCommand {
  static override paths = [['completion']];
  static override usage = Command.Usage({
    category: 'Setup',
    description: 'Print the shell completion script (bash, zsh or fish)',
    details: `
      The script completes every command and its options, generated from the commands this version of atmos-pipe has; option values and arguments complete as file names.
    `,
    examples: [
      ['bash, for this shell', 'source <($0 completion bash)'],
      ['bash, for every new shell', '$0 completion bash > ~/.local/share/bash-completion/completions/atmos-pipe'],
      ['zsh', 'source <($0 completion zsh)'],
      ['fish', '$0 completion fish > ~/.config/fish/completions/atmos-pipe.fish'],
    ],
  });
  shell = Option.String({ name: 'shell', validator: t.isEnum(SHELLS) });

  async run(): Promise<number> {
    const { completionScript } = await import('../completion.js');
    const { specFromDefinition } = await import('../spec.js');
    const specs = this.cli.definitions().map((d) => specFromDefinition(d as Parameters<typeof specFromDefinition>[0]));
    this.write(completionScript(this.shell, specs));
    return 0;
  }
}
