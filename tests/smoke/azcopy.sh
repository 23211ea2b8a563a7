#!/usr/bin/env bash
# Smoke test: AzCopy v10 (npm @azure-tools/azcopy-linux) against the real cobalt binary with an
# account SAS.  Starts its own server on 127.0.0.1 (free port, temp data dir) and stops it by PID.
#   tests/smoke/azcopy.sh        COBALT_BIN selects the binary (default build/cobalt)
# With an IP address in the URL AzCopy cannot infer what the endpoint is, so every command names
# it (--from-to, --location); it also does not create the container then, so the test does.
# Files above 1 MiB go up as 1 MiB blocks; --put-md5 stores each file's MD5 and the download
# checks it (--check-md5 FailIfDifferentOrMissing).  A sparse disk image goes up as a page blob,
# down, and across containers.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AZCOPY_PKG="$ROOT/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"
[ -f "$AZCOPY_PKG" ] || { echo "azcopy smoke: $AZCOPY_PKG missing (scripts/deps.sh)" >&2; exit 1; }
smoke_start azcopy

# npm does not keep the binary's mode: run a private executable copy.  AzCopy's logs and job
# plans go to the temporary directory.
AZCOPY="$TMP/azcopy"
install -m 755 "$AZCOPY_PKG" "$AZCOPY"
export HOME="$TMP" AZCOPY_LOG_LOCATION="$TMP/azlog" AZCOPY_JOB_PLAN_LOCATION="$TMP/azplan"
export AZCOPY_DISABLE_SYSLOG=true
SAS="$(account_sas racwdl)"
C="$URL/azcopy"

az_copy() {
    local out
    if ! out="$(timeout "$SMOKE_TIMEOUT" "$AZCOPY" "$@" 2>&1)"; then
        echo "$out" >&2
        ls "$AZCOPY_LOG_LOCATION"/*.log >/dev/null 2>&1 && grep -h "ERR" "$AZCOPY_LOG_LOCATION"/*.log | tail -20 >&2
        fail "azcopy $1 $2"
    fi
    printf '%s' "$out"
}

# The listing, as "name size" lines (AzCopy prints "name; Content Length: N" with --machine-readable).
listing() {
    local out
    out="$(az_copy list "$C?$SAS" --location Blob --machine-readable)"
    sed -n 's/^\(.*\); Content Length: \([0-9]*\)$/\1 \2/p' <<<"$out" | sort
}

SRC="$TMP/src"
make_tree "$SRC"
# Last-Modified has one-second resolution: files written in the second of their upload would look
# newer than their blobs to `azcopy sync`.
find "$SRC" -type f -exec touch -d "@$(( $(date +%s) - 5 ))" {} +
nfiles=$(find "$SRC" -type f | wc -l)
create_container azcopy

echo "azcopy smoke: copy $nfiles files up"
out="$(az_copy copy "$SRC/*" "$C/tree?$SAS" --recursive --from-to LocalBlob --block-size-mb 1 --put-md5)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "upload: $out"
listed="$(listing)"
want="$(cd "$SRC" && find . -type f -printf 'tree/%P %s\n' | sort)"
[ "$listed" = "$want" ] || { diff <(echo "$want") <(echo "$listed") >&2 || true; fail "listing differs"; }

echo "azcopy smoke: copy down, MD5 checked"
DST="$TMP/dst"
mkdir -p "$DST"
out="$(az_copy copy "$C/tree/*?$SAS" "$DST" --recursive --from-to BlobLocal --check-md5 FailIfDifferentOrMissing)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "download: $out"
diff -r "$SRC" "$DST" || fail "downloaded tree differs from the uploaded tree"

echo "azcopy smoke: sync a changed tree (new, changed and deleted files)"
sleep 1   # the changes below are in a later second than the upload
echo "changed by azcopy" > "$SRC/hello.txt"
rm "$SRC/docs/4k.bin"
head -c 3000000 /dev/urandom > "$SRC/docs/new-3mb.bin"
out="$(az_copy sync "$SRC" "$C/tree?$SAS" --recursive --from-to LocalBlob --delete-destination true --put-md5)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "sync: $out"
grep -q "Number of Copy Transfers Completed: 2$" <<<"$out" || fail "sync copied other than the 2 new/changed files: $out"
grep -q "Number of Deletions at Destination: 1$" <<<"$out" || fail "sync deleted other than 1 file: $out"
listed="$(listing)"
want="$(cd "$SRC" && find . -type f -printf 'tree/%P %s\n' | sort)"
[ "$listed" = "$want" ] || { diff <(echo "$want") <(echo "$listed") >&2 || true; fail "listing after sync differs"; }
rm -rf "$DST" && mkdir -p "$DST"
az_copy copy "$C/tree/*?$SAS" "$DST" --recursive --from-to BlobLocal --check-md5 FailIfDifferentOrMissing >/dev/null
diff -r "$SRC" "$DST" || fail "tree after sync differs"

echo "azcopy smoke: remove"
out="$(az_copy remove "$C/tree/docs?$SAS" --recursive --from-to BlobTrash)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "remove: $out"
listed="$(listing)"
! grep -q "^tree/docs/" <<<"$listed" || fail "removed blobs still listed: $listed"
grep -q "^tree/hello.txt " <<<"$listed" || fail "remove took more than the docs/ tree: $listed"

# A page blob both ways: a sparse disk image up as a page blob (AzCopy skips the all-zero 4 MiB
# ranges), down with its MD5 checked, and copied service to service (Put Page From URL of the
# written ranges) into another container, whose copy comes down byte-identical too.
echo "azcopy smoke: a page blob up, down and across, MD5 checked"
DISK="$TMP/disk.vhd"
truncate -s $((24 * 1024 * 1024 + 8192)) "$DISK"
for off in 0 3 4096 9000 49151; do   # 512-byte pages: scattered runs, one past a 4 MiB boundary
    head -c 8192 /dev/urandom | dd of="$DISK" bs=512 seek="$off" conv=notrunc status=none
done
out="$(az_copy copy "$DISK" "$C/disks/disk.vhd?$SAS" --from-to LocalBlob --blob-type PageBlob --put-md5)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "page blob upload: $out"
page_blob_check() {   # URL-path SIZE: the blob is a page blob of that size
    local h
    h="$(curl -sfI "$URL/$1?$SAS")" || fail "HEAD $1"
    grep -qi "^x-ms-blob-type: PageBlob" <<<"$h" || fail "$1 is not a page blob: $h"
    grep -qi "^Content-Length: $2" <<<"$h" || fail "$1 is not $2 bytes: $h"
}
page_blob_check azcopy/disks/disk.vhd "$(stat -c %s "$DISK")"
out="$(az_copy copy "$C/disks/disk.vhd?$SAS" "$TMP/disk-down.vhd" --from-to BlobLocal --check-md5 FailIfDifferentOrMissing)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "page blob download: $out"
cmp "$DISK" "$TMP/disk-down.vhd" || fail "the downloaded page blob differs"
create_container azcopy-disks
out="$(az_copy copy "$C/disks/disk.vhd?$SAS" "$URL/azcopy-disks/copy.vhd?$SAS" --from-to BlobBlob)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "page blob service-to-service copy: $out"
page_blob_check azcopy-disks/copy.vhd "$(stat -c %s "$DISK")"
out="$(az_copy copy "$URL/azcopy-disks/copy.vhd?$SAS" "$TMP/copy-down.vhd" --from-to BlobLocal --check-md5 FailIfDifferentOrMissing)"
grep -q "Final Job Status: Completed$" <<<"$out" || fail "download of the copied page blob: $out"
cmp "$DISK" "$TMP/copy-down.vhd" || fail "the copied page blob differs"

echo "azcopy smoke: OK ($nfiles files, a page blob)"
