#!/usr/bin/env bash
# Smoke test: `az storage` (azure-cli) against the real cobalt binary with the dev connection string.
# Starts its own server on 127.0.0.1 (free port, temp data dir) and stops it by PID.
#   tests/smoke/az.sh            COBALT_BIN selects the binary (default build/cobalt)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v az >/dev/null || { echo "az smoke: az CLI not installed (scripts/deps.sh)" >&2; exit 1; }
smoke_start az

# az configuration: private, quiet, no telemetry or surveys.
export AZURE_CONFIG_DIR="$TMP/azconfig"
export AZURE_CORE_COLLECT_TELEMETRY=no
export AZURE_CORE_SURVEY_MESSAGE=no
export AZURE_CORE_NO_COLOR=true
export AZURE_CORE_ONLY_SHOW_ERRORS=true
export AZURE_CORE_DISABLE_PROGRESS_BAR=true
mkdir -p "$AZURE_CONFIG_DIR"
unset AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_AUTH_MODE || true
export AZURE_STORAGE_CONNECTION_STRING="$CS"

SRC="$TMP/src"
make_tree "$SRC"
nfiles=$(find "$SRC" -type f | wc -l)

run_az() {
    local out
    if ! out="$(timeout "$SMOKE_TIMEOUT" az "$@" --connection-string "$CS" 2>&1)"; then
        echo "$out" >&2
        fail "az $*"
    fi
    printf '%s' "$out"
}

echo "az smoke: container create"
out="$(run_az storage container create -n smoke --output json)"
echo "$out" | grep -q '"created": true' || fail "container create did not report created: $out"
out="$(run_az storage container exists -n smoke --output tsv)"
[ "$out" = "True" ] || fail "container exists said: $out"

echo "az smoke: upload-batch of $nfiles files"
run_az storage blob upload-batch -d smoke -s "$SRC" --output none >/dev/null

echo "az smoke: list"
listed="$(run_az storage blob list -c smoke --num-results '*' --query '[].name' --output tsv | sort)"
expected="$(cd "$SRC" && find . -type f | sed 's|^\./||' | sort)"
[ "$listed" = "$expected" ] || { diff <(echo "$expected") <(echo "$listed") >&2 || true; fail "listing differs from the uploaded files"; }
# Sizes in the listing match the files.
sizes="$(run_az storage blob list -c smoke --num-results '*' --query '[].[name, properties.contentLength]' --output tsv | sort)"
want_sizes="$(cd "$SRC" && find . -type f -printf '%P\t%s\n' | sort)"
[ "$sizes" = "$want_sizes" ] || { diff <(echo "$want_sizes") <(echo "$sizes") >&2 || true; fail "sizes in listing differ"; }
# Prefix listing.
pref="$(run_az storage blob list -c smoke --prefix docs/nested/ --num-results '*' --query 'length(@)' --output tsv)"
[ "$pref" = "12" ] || fail "prefix listing returned $pref entries, expected 12"

echo "az smoke: download-batch"
DST="$TMP/dst"
mkdir -p "$DST"
run_az storage blob download-batch -d "$DST" -s smoke --output none >/dev/null
diff -r "$SRC" "$DST" || fail "downloaded tree differs from the uploaded tree"

echo "az smoke: single blob show/metadata/delete"
out="$(run_az storage blob show -c smoke -n hello.txt --query 'properties.contentLength' --output tsv)"
[ "$out" = "9" ] || fail "blob show contentLength=$out"
run_az storage blob metadata update -c smoke -n hello.txt --metadata color=blue --output none >/dev/null
out="$(run_az storage blob metadata show -c smoke -n hello.txt --query color --output tsv)"
[ "$out" = "blue" ] || fail "metadata show: $out"
run_az storage blob delete -c smoke -n hello.txt --output none >/dev/null
out="$(run_az storage blob exists -c smoke -n hello.txt --output tsv)"
[ "$out" = "False" ] || fail "deleted blob still exists: $out"
run_az storage container delete -n smoke --output none >/dev/null
out="$(run_az storage container exists -n smoke --output tsv)"
[ "$out" = "False" ] || fail "deleted container still exists: $out"

echo "az smoke: OK ($nfiles files)"
