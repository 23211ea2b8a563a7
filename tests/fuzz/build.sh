#!/bin/sh
# tests/fuzz/build.sh [OUT_DIR] -- builds the libFuzzer targets (clang, ASan + UBSan + fuzzer).
#
# The targets compile the project's own sources directly (only the pure parsers they need), so
# this needs neither the root CMakeLists.txt nor RocksDB/libmicrohttpd; it needs clang with the
# fuzzer runtime (Debian: clang, libclang-rt-14-dev), expat and libcrypto headers.
# Default OUT_DIR: build-fuzz/ at the repo root (ignored by git).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build-fuzz}
CC=${CC:-clang}
mkdir -p "$out"

CFLAGS="-g -O1 -std=gnu17 -D_GNU_SOURCE -DCOBALT_VERSION=\"fuzz\" -DOPENSSL_API_COMPAT=0x10100000L
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  -Wall -Wextra -Wno-unused-parameter -I$root/src -I$here"

util="src/util/arena.c src/util/buf.c src/util/codec.c src/util/clock.c"
# target: extra sources and libraries
build() {
    name=$1; srcs=$2; libs=$3
    files=""
    for s in $util $srcs; do files="$files $root/$s"; done
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$out/$name" "$here/$name.c" $files $libs
    echo "built $out/$name"
}

build fuzz_parse   "src/api/parse.c src/util/xml.c"                    "-lexpat"
build fuzz_codec   ""                                                  ""
build fuzz_time    "src/util/timefmt.c"                                ""
build fuzz_xml     "src/util/xml.c"                                    "-lexpat"
build fuzz_auth    "src/auth/auth.c src/auth/bearer.c src/auth/json.c src/auth/sas.c src/auth/sharedkey.c src/util/timefmt.c" "-lcrypto"
build fuzz_records "src/meta/records.c src/store/needle.c src/util/crc.c" "-lpthread"
build fuzz_query   "src/api/query_sql.c src/api/query_arrow.c src/util/timefmt.c" "-lm"
build fuzz_pages   "src/engine/pages.c"                                ""
