#!/usr/bin/env bash
# Writes README.md's table of `cobalt serve` options -- the lines between the markers
# "<!-- options:begin ..." and "<!-- options:end -->" -- from `cobalt help --markdown`, which
# prints the option table of src/main.c.  With --check, changes nothing: prints how README.md
# differs and exits 1 if it does (ctest runs this as `readme_options`).
#   scripts/update-readme-options.sh [--check] [path/to/cobalt]   (default build/cobalt)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECK=0
if [ "${1:-}" = --check ]; then
    CHECK=1
    shift
fi
BIN="${1:-$ROOT/build/cobalt}"
README="$ROOT/README.md"

table="$(mktemp)"
new="$(mktemp)"
trap 'rm -f "$table" "$new"' EXIT
"$BIN" help --markdown >"$table"
awk -v table="$table" '
    /^<!-- options:end -->/ { inside = 0; done = done + 1 }
    !inside { print }
    /^<!-- options:begin/ { inside = 1; while ((getline line < table) > 0) print line }
    END { if (done != 1 || inside) exit 3 }
' "$README" >"$new" || { echo "$README: needs one <!-- options:begin --> ... <!-- options:end --> pair" >&2; exit 2; }

if [ "$CHECK" = 1 ]; then
    if ! diff -u --label "README.md" --label "cobalt help --markdown" "$README" "$new"; then
        echo "README.md's option table is not what the binary prints: run scripts/update-readme-options.sh" >&2
        exit 1
    fi
elif ! cmp -s "$README" "$new"; then
    cat "$new" >"$README"
    echo "README.md: option table updated"
fi
