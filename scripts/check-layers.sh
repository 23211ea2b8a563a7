#!/usr/bin/env bash
# Checks every #include under src/ against the layer tables of docs/architecture.md:
# an include of a layer the including layer may not use, of another layer's private header
# (*_int.h), or of a third-party library outside the layers allowed to use it.
# Prints each violation as file:line and exits 1 if there is any.  Run by the build (target
# `layers`) and usable on its own: scripts/check-layers.sh [repo-root]
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
DOC="$ROOT/docs/architecture.md"

declare -A MAY LIB
# Table rows: "| name | words |"; the layer table ends where the library table begins.
while IFS='|' read -r _ a b _; do
    a="$(echo "$a" | xargs)"
    b="$(echo "$b" | xargs)"
    case "$a" in
    "" | layer | "library header" | ---*) continue ;;
    */ | *.h) LIB["$a"]="$b" ;;
    *) MAY["$a"]="$b" ;;
    esac
done < <(grep -E '^\|' "$DOC")
[ "${#MAY[@]}" -gt 0 ] && [ "${#LIB[@]}" -gt 0 ] || { echo "check-layers: no tables in $DOC" >&2; exit 2; }

bad=0
violation() { echo "$1: $2" >&2; bad=1; }
has() { [[ " $1 " == *" $2 "* ]]; }

while IFS= read -r f; do
    rel="${f#"$ROOT"/src/}"
    layer="${rel%%/*}"
    [ "$rel" = main.c ] && layer=main
    [ -n "${MAY[$layer]+x}" ] || { violation "src/$rel" "layer '$layer' is not in docs/architecture.md"; continue; }
    while IFS=: read -r line inc; do
        if [[ "$inc" =~ ^\#include\ *\"([a-z]+)/([^\"]+)\" ]]; then
            to="${BASH_REMATCH[1]}" hdr="${BASH_REMATCH[2]}"
            [ "$to" = "$layer" ] && continue
            has "${MAY[$layer]}" "$to" || violation "src/$rel:$line" "$layer may not include $to/ ($inc)"
            [[ "$hdr" == *_int.h ]] && violation "src/$rel:$line" "private header of $to/ ($inc)"
        elif [[ "$inc" =~ ^\#include\ *\<([^\>]+)\> ]]; then
            sys="${BASH_REMATCH[1]}"
            for l in "${!LIB[@]}"; do
                if [[ "$sys" == "$l"* ]] && ! has "${LIB[$l]}" "$layer"; then
                    violation "src/$rel:$line" "$layer may not use $l ($inc)"
                fi
            done
        fi
    done < <(grep -n '^ *# *include' "$f" | sed -E "s/^([0-9]+): *# *include */\1:#include /")
done < <(find "$ROOT/src" -name '*.[ch]' | sort)
exit $bad
