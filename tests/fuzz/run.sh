#!/bin/sh
# run.sh: build the ftp_proto libFuzzer target with clang and run it for a
# bounded time on a scratch copy of the seed corpus.
#
# usage: tests/fuzz/run.sh SRCDIR BUILDDIR [SECONDS]
#   SRCDIR    the source tree (read only: nothing is written there)
#   BUILDDIR  a configured build tree (for config.h); the fuzzer goes
#             into BUILDDIR/fuzz/
#   SECONDS   how long to fuzz (default 30)
# Exits 0 when no crash was found, 1 on a crash or build failure, 77 (the
# automake "skipped" status) when clang is missing.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 SRCDIR BUILDDIR [SECONDS]" >&2
	exit 2
fi
SRCDIR=$(cd "$1" && pwd) || exit 2
BUILDDIR=$(cd "$2" && pwd) || exit 2
SECONDS_TO_RUN=${3:-30}
CLANG=${CLANG:-clang}

case $SECONDS_TO_RUN in
''|*[!0-9]*) echo "$0: SECONDS must be a number" >&2; exit 2 ;;
esac
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: SKIP: $CLANG not found; libFuzzer needs clang (install clang)" >&2
	exit 77
fi
if [ ! -f "$BUILDDIR/config.h" ]; then
	echo "$0: $BUILDDIR/config.h not found: run configure there first" >&2
	exit 2
fi

OUT="$BUILDDIR/fuzz"
BIN="$OUT/fuzz_ftp_proto"
mkdir -p "$OUT" || exit 1

if ! "$CLANG" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -g -O1 -std=c11 -Wall -Wextra -I"$BUILDDIR" -I"$SRCDIR/src" \
    -o "$BIN" "$SRCDIR/tests/fuzz/fuzz_ftp_proto.c" "$SRCDIR/src/ftp_proto.c"; then
	echo "fuzz: FAIL: could not build $BIN" >&2
	exit 1
fi

# libFuzzer adds what it finds to the first corpus directory: work on a
# scratch copy so that the source tree stays untouched.
WORK=$(mktemp -d "$OUT/run.XXXXXX") || exit 1
mkdir -p "$WORK/corpus" "$WORK/artifacts"
if [ -d "$SRCDIR/tests/fuzz/corpus/ftp_proto" ]; then
	cp "$SRCDIR/tests/fuzz/corpus/ftp_proto/"* "$WORK/corpus/" 2>/dev/null
fi

"$BIN" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
    -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$WORK/log" | tail -n 1)
crashes=$(ls "$WORK/artifacts" | wc -l)
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
	tail -n 40 "$WORK/log" >&2
	echo "fuzz: FAIL: ftp_proto: exit $rc, $crashes artifact(s) in $WORK/artifacts (log: $WORK/log)"
	exit 1
fi
echo "fuzz: PASS: ftp_proto: ${runs:-?} runs in ${SECONDS_TO_RUN}s (${speed:-?} exec/s), corpus $(ls "$WORK/corpus" | wc -l) files, no crash"
rm -rf "$WORK"
exit 0
