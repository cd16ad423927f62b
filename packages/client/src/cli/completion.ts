import type { Command } from 'commander';

/** Every command path ("", "apps", "apps ls") with the words that may follow it: subcommands and flags. */
function words(command: Command, prefix = '', out = new Map<string, string[]>()): Map<string, string[]> {
  const flags = command.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
  out.set(
    prefix,
    [...command.commands.flatMap((c) => [c.name(), ...c.aliases()]), ...flags].filter((w) => w !== 'help'),
  );
  for (const sub of command.commands) for (const name of [sub.name(), ...sub.aliases()]) words(sub, prefix ? `${prefix} ${name}` : name, out);
  return out;
}

/**
 * A completion script for bash or zsh (zsh through bashcompinit), from the command tree itself so it
 * never lags behind: `source <(berth completion bash)`.
 */
export function completionScript(program: Command, shell: string): string {
  const cases = [...words(program)].map(([path, list]) => `    ${JSON.stringify(path)}) opts=${JSON.stringify(list.join(' '))} ;;`).join('\n');
  const bash = `_berth_complete() {
  local cur path word opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) continue ;; esac
    case "$(_berth_words "\${path:+$path }$word")" in "") ;; *) path="\${path:+$path }$word" ;; esac
  done
  opts="$(_berth_words "$path")"
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
_berth_words() {
  local opts=""
  case "$1" in
${cases}
  esac
  printf '%s' "$opts"
}
complete -o default -F _berth_complete berth`;
  if (shell === 'bash') return bash;
  if (shell === 'zsh') return `#compdef berth\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  throw new Error(`no completion for "${shell}": use bash or zsh`);
}
