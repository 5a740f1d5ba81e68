# bash completion for iotsecctl and iotsecd (installed by `make install`). The command tables are
# read from the tools' own -h output, so completion never drifts from the build it ships with.

_iotsecctl_words() { # the command names listed by `iotsecctl [WORDS...] -h`
    "$1" "${@:2}" -h 2>/dev/null | awk '/^commands:/{c=1; next} c && /^  [a-z]/{print $1}'
}

_iotsecctl_flags() { # the --flags named in a command's usage line
    "$1" "${@:2}" -h 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_iotsecctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local prog=${COMP_WORDS[0]} words=() i
    case $prev in
    --dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --output) COMPREPLY=($(compgen -W 'json table csv' -- "$cur")); return ;;
    esac
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --dir) ((i++)) ;;
        -*) break ;;
        *) words+=("${COMP_WORDS[i]}") ;;
        esac
    done
    if [[ $cur == -* ]]; then
        if ((${#words[@]} == 0)); then
            COMPREPLY=($(compgen -W '--dir --version --help' -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_iotsecctl_flags "$prog" "${words[@]}") --help" -- "$cur"))
        fi
        return
    fi
    local subs
    subs=$(_iotsecctl_words "$prog" "${words[@]}")
    if [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur")) # a FILE argument (import, activate, backup...)
    fi
}
complete -F _iotsecctl iotsecctl

_iotsecd() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
    --dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --from | --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W 'init run restore --version --help' -- "$cur"))
        return
    fi
    case ${COMP_WORDS[1]} in
    init) COMPREPLY=($(compgen -W '--dir --sbi --admin --sbi-h2c --northbound --device --mcc
                                   --mnc --san' -- "$cur")) ;;
    run) COMPREPLY=($(compgen -W '--dir --config' -- "$cur")) ;;
    restore) COMPREPLY=($(compgen -W '--dir --from --sqn-margin' -- "$cur")) ;;
    esac
}
complete -F _iotsecd iotsecd
