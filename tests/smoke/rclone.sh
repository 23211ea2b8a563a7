#!/usr/bin/env bash
# Smoke test: rclone (Debian's, azureblob backend) against the real cobalt binary with an account
# SAS.  Starts its own server on 127.0.0.1 (free port, temp data dir) and stops it by PID.
#   tests/smoke/rclone.sh        COBALT_BIN selects the binary (default build/cobalt)
# Files above 1 MiB go up as 1 MiB blocks (Put Block + Put Block List), the rest as Put Blob;
# `rclone check` compares every file's size and MD5 with what the listing reports.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v rclone >/dev/null || { echo "rclone smoke: rclone not installed (scripts/deps.sh)" >&2; exit 1; }
smoke_start rclone

export RCLONE_CONFIG=/dev/null   # no config file: everything is on the command line
SAS="$(account_sas racwdl)"

rc() {
    local out
    if ! out="$(timeout "$SMOKE_TIMEOUT" rclone --azureblob-sas-url "$URL?$SAS" --azureblob-upload-cutoff 1M \
                --azureblob-chunk-size 1M --retries 1 --low-level-retries 1 "$@" 2>&1)"; then
        echo "$out" >&2
        fail "rclone $*"
    fi
    printf '%s' "$out"
}

SRC="$TMP/src"
make_tree "$SRC"
nfiles=$(find "$SRC" -type f | wc -l)

echo "rclone smoke: mkdir (Create Container)"
rc mkdir :azureblob:rclone >/dev/null

echo "rclone smoke: copy $nfiles files up"
rc copy "$SRC" :azureblob:rclone/tree >/dev/null
out="$(rc check "$SRC" :azureblob:rclone/tree)"
echo "$out" | grep -q "0 differences found" || fail "check after upload: $out"
echo "$out" | grep -q "$nfiles matching files" || fail "check after upload: $out"
listed="$(rc lsf -R --files-only :azureblob:rclone/tree | sort)"
expected="$(cd "$SRC" && find . -type f | sed 's|^\./||' | sort)"
[ "$listed" = "$expected" ] || { diff <(echo "$expected") <(echo "$listed") >&2 || true; fail "listing differs"; }
# MD5s as the server reports them, against the files' own.
md5s="$(rc md5sum :azureblob:rclone/tree | sort -k2)"
want="$(cd "$SRC" && find . -type f -printf '%P\n' | sort | while read -r f; do printf '%s  %s\n' "$(md5sum < "$f" | cut -d' ' -f1)" "$f"; done)"
[ "$md5s" = "$want" ] || { diff <(echo "$want") <(echo "$md5s") >&2 || true; fail "MD5s differ"; }

echo "rclone smoke: copy down"
DST="$TMP/dst"
rc copy :azureblob:rclone/tree "$DST" >/dev/null
diff -r "$SRC" "$DST" || fail "downloaded tree differs from the uploaded tree"

echo "rclone smoke: sync a changed tree (upload, overwrite, delete)"
echo "changed" > "$SRC/hello.txt"
rm "$SRC/docs/4k.bin"
head -c 3000000 /dev/urandom > "$SRC/docs/new-3mb.bin"
rc sync "$SRC" :azureblob:rclone/tree >/dev/null
out="$(rc check "$SRC" :azureblob:rclone/tree)"
echo "$out" | grep -q "0 differences found" || fail "check after sync: $out"
[ "$(rc cat :azureblob:rclone/tree/hello.txt)" = "changed" ] || fail "overwritten file reads back wrong"
out="$(rc lsf :azureblob:rclone/tree/docs)"
! grep -qx "4k.bin" <<<"$out" || fail "file deleted by sync still listed"

echo "rclone smoke: purge (delete every blob and the container)"
rc purge :azureblob:rclone >/dev/null
out="$(rc lsf :azureblob:)"
! grep -qx "rclone/" <<<"$out" || fail "purged container still listed"

echo "rclone smoke: OK ($nfiles files)"
