# bash completion for zlock. Made by scripts/cli-docs.lua from the zlock command's table of
# commands: do not edit. Install: copy to /usr/share/bash-completion/completions/zlock, or
# source it from ~/.bashrc.
_zlock() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --api-domain|--dc|--env|--proxy|--profile|--reason|--concurrency|--journal|--param|--rehearse|--criteria|--coql|--fields) ((i++)) ;;
      -*) ;;
      *) [ -z "$cmd" ] && cmd=${COMP_WORDS[i]} ;;
    esac
  done
  case $prev in
    --api-domain) COMPREPLY=(); return ;;
    --dc) COMPREPLY=($(compgen -W "us eu in au jp cn ca sa" -- "$cur")); return ;;
    --env) COMPREPLY=($(compgen -W "production sandbox developer" -- "$cur")); return ;;
    --proxy) COMPREPLY=(); return ;;
    --profile) COMPREPLY=(); return ;;
    --reason) COMPREPLY=(); return ;;
    --concurrency) COMPREPLY=(); return ;;
    --journal) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --param) COMPREPLY=(); return ;;
    --rehearse) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --criteria) COMPREPLY=(); return ;;
    --coql) COMPREPLY=(); return ;;
    --fields) COMPREPLY=(); return ;;
  esac
  case $cmd in
    '') COMPREPLY=($(compgen -W "get lock update unlock locks run fixture config auth help --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W "get lock update unlock locks run fixture config auth" -- "$cur")) ;;
    get) COMPREPLY=($(compgen -W " --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    lock) COMPREPLY=($(compgen -W "--reason --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    update) COMPREPLY=($(compgen -W "--reason --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    unlock) COMPREPLY=($(compgen -W " --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    locks) COMPREPLY=($(compgen -W "--long --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    run) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "--dry-run --concurrency --journal --param --no-progress --rehearse --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur"));
        else COMPREPLY=($(compgen -f -X "!*.lua" -- "$cur") $(compgen -d -- "$cur")); fi ;;
    fixture) COMPREPLY=($(compgen -W "--criteria --coql --fields --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
    config) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "--dry-run --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur"));
        else COMPREPLY=($(compgen -f -X "!*.lua" -- "$cur") $(compgen -d -- "$cur")); fi ;;
    auth) COMPREPLY=($(compgen -W " --json --api-domain --dc --env --verbose -v --proxy --profile --help -h --version" -- "$cur")) ;;
  esac
}
complete -F _zlock zlock
