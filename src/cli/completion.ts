/**
 * Shell completion scripts (`atmos-pipe completion bash|zsh|fish`), generated from the
 * registered commands and their options (src/cli/spec.ts): a new command or option completes
 * once it is declared. Commands and options complete; an option's value and positionals fall
 * back to the shell's file completion.
 */
import { type CommandSpec, optionNames } from './spec.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** A word safe inside single quotes in bash, zsh and fish. */
function sq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "'\\''")}'`;
}

function name(spec: CommandSpec): string {
  return (spec.paths[0] ?? []).join(' ');
}

/** bash (also sourced by zsh through bashcompinit). */
function bash(specs: CommandSpec[]): string {
  const opts = specs.map((s) => `  [${sq(name(s))}]=${sq(['-h', '--help', ...s.options.filter((o) => !o.hidden).flatMap(optionNames)].join(' '))}`);
  // The word that may follow each command prefix ("/" the start, "/vendor" after vendor, …).
  const next = new Map<string, Set<string>>([['/', new Set(['-h', '--help', '-V', '--version'])]]);
  for (const s of specs) {
    const p = s.paths[0] ?? [];
    for (let i = 0; i < p.length; i++) {
      const key = `/${p.slice(0, i).join(' ')}`;
      next.set(key, (next.get(key) ?? new Set()).add(p[i]));
    }
  }
  const nexts = [...next].map(([k, v]) => `  [${sq(k)}]=${sq([...v].join(' '))}`);
  const valued = [...new Set(specs.flatMap((s) => s.options.filter((o) => o.arity > 0).flatMap((o) => o.names)))];
  return `# atmos-pipe completion for bash: source <(atmos-pipe completion bash)
declare -gA _atmos_pipe_opts=(
${opts.join('\n')}
)
declare -gA _atmos_pipe_next=(
${nexts.join('\n')}
)
_atmos_pipe_valued=${sq(` ${valued.join(' ')} `)}
_atmos_pipe() {
  # zsh (bashcompinit) numbers arrays from 1 unless told otherwise.
  [[ -n "\${ZSH_VERSION-}" ]] && setopt localoptions ksharrays
  local cur="\${COMP_WORDS[COMP_CWORD]}" i w n j key cmd=""
  local -a words=()
  COMPREPLY=()
  # The words before the cursor that are not options nor option values: the command path.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ "$w" == -* ]]; then
      [[ "$w" != *=* && "$_atmos_pipe_valued" == *" $w "* ]] && ((i++))
      continue
    fi
    words+=("$w")
  done
  # The longest command those words start with.
  for ((n = \${#words[@]}; n >= 1; n--)); do
    key="\${words[0]}"
    for ((j = 1; j < n; j++)); do key+=" \${words[j]}"; done
    if [[ -n "\${_atmos_pipe_opts[$key]+x}" ]]; then cmd="$key"; break; fi
  done
  if [[ -z "$cmd" ]]; then
    key="/\${words[*]}"
    COMPREPLY=($(compgen -W "\${_atmos_pipe_next[$key]-}" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "\${_atmos_pipe_opts[$cmd]}" -- "$cur"))
  fi
  return 0
}
complete -o default -F _atmos_pipe atmos-pipe
`;
}

/** zsh: the bash function through bashcompinit. */
function zsh(specs: CommandSpec[]): string {
  return `#compdef atmos-pipe
# atmos-pipe completion for zsh: source <(atmos-pipe completion zsh)
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
${bash(specs).replace(/^# .*\n/, '')}`;
}

/** fish: one `complete` line per command and per option. */
function fish(specs: CommandSpec[]): string {
  const lines = ['# atmos-pipe completion for fish: atmos-pipe completion fish | source', 'complete -c atmos-pipe -f'];
  const groups = new Map<string, CommandSpec[]>();
  for (const s of specs) {
    const p = s.paths[0] ?? [];
    if (p.length === 0) continue;
    groups.set(p[0], [...(groups.get(p[0]) ?? []), s]);
  }
  for (const [first, list] of groups) {
    const single = list.find((s) => s.paths[0].length === 1);
    lines.push(`complete -c atmos-pipe -n __fish_use_subcommand -a ${sq(first)} -d ${sq(single?.description ?? `${first} commands`)}`);
    for (const s of list) {
      const p = s.paths[0];
      let cond = `__fish_seen_subcommand_from ${p[0]}`;
      if (p.length > 1) {
        lines.push(`complete -c atmos-pipe -n ${sq(`${cond}; and not __fish_seen_subcommand_from ${list.map((x) => x.paths[0][1] ?? '').join(' ')}`)} -a ${sq(p[1])} -d ${sq(s.description ?? '')}`);
        cond += `; and __fish_seen_subcommand_from ${p[1]}`;
      }
      for (const o of s.options) {
        if (o.hidden) continue;
        const flags = o.names.map((n) => (n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(' ');
        lines.push(`complete -c atmos-pipe -n ${sq(cond)} ${flags}${o.arity > 0 ? ' -r -F' : ''} -d ${sq((o.description ?? '').split(/[.;(]/)[0].trim())}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`. */
export function completionScript(shell: Shell, specs: CommandSpec[]): string {
  return shell === 'bash' ? bash(specs) : shell === 'zsh' ? zsh(specs) : fish(specs);
}
