#!/usr/bin/env bash
# Checks every C file under src/ and tests/unit/ against .clang-format: prints each file that
# clang-format would change, with the number of lines it would change (with -v, the diff too),
# and exits 1 if there is any.  To reformat a file: clang-format -i FILE.
#   scripts/check-format.sh [-v] [repo-root]
set -euo pipefail
VERBOSE=0
if [ "${1:-}" = -v ]; then
    VERBOSE=1
    shift
fi
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CLANG_FORMAT="${CLANG_FORMAT:-clang-format}"
command -v "$CLANG_FORMAT" >/dev/null || { echo "check-format: $CLANG_FORMAT not found" >&2; exit 2; }
cd "$ROOT"

bad=0
lines=0
while IFS= read -r f; do
    out="$("$CLANG_FORMAT" --style=file "$f" | diff -U0 --label "$f" --label "$f (formatted)" "$f" - || true)"
    [ -z "$out" ] && continue
    n="$(grep -c '^-[^-]' <<<"$out" || true)"
    echo "$f: $n lines"
    [ "$VERBOSE" = 1 ] && echo "$out"
    bad=$((bad + 1))
    lines=$((lines + n))
done < <(find src tests/unit -name '*.[ch]' | sort)
if [ "$bad" -gt 0 ]; then
    echo "check-format: $bad files, $lines lines differ from .clang-format" >&2
    exit 1
fi
