#!/bin/sh
# run.sh: build each libFuzzer target (the FTP grammar, the session's
# dialogue engine, the config loader) with clang and run it for a bounded
# time on a scratch copy of its seed corpus.
#
# usage: tests/fuzz/run.sh SRCDIR BUILDDIR [SECONDS]
#   SRCDIR    the source tree (read only: nothing is written there)
#   BUILDDIR  a configured build tree (for config.h); the fuzzer goes
#             into BUILDDIR/fuzz/
#   SECONDS   how long to fuzz each target (default 30)
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
mkdir -p "$OUT" || exit 1
CFLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1 -std=c11 -Wall -Wextra -I$BUILDDIR -I$SRCDIR/src"
failed=0

# fuzz_one NAME SOURCES... [-- LIBS]: build tests/fuzz/fuzz_NAME.c with
# SOURCES, run it for SECONDS on a scratch copy of corpus/NAME.
fuzz_one() {
	name=$1; shift
	bin="$OUT/fuzz_$name"
	# shellcheck disable=SC2086
	if ! "$CLANG" $CFLAGS -o "$bin" "$SRCDIR/tests/fuzz/fuzz_$name.c" "$@"; then
		echo "fuzz: FAIL: could not build $bin" >&2
		failed=1
		return
	fi
	# libFuzzer adds what it finds to the first corpus directory: work on
	# a scratch copy so that the source tree stays untouched.
	work=$(mktemp -d "$OUT/run.XXXXXX") || exit 1
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$SRCDIR/tests/fuzz/corpus/$name/"* "$work/corpus/" 2>/dev/null
	"$bin" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
	crashes=$(ls "$work/artifacts" | wc -l)
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		tail -n 40 "$work/log" >&2
		echo "fuzz: FAIL: $name: exit $rc, $crashes artifact(s) in $work/artifacts (log: $work/log)"
		failed=1
		return
	fi
	echo "fuzz: PASS: $name: ${runs:-?} runs in ${SECONDS_TO_RUN}s (${speed:-?} exec/s), corpus $(ls "$work/corpus" | wc -l) files, no crash"
	rm -rf "$work"
}

fuzz_one ftp_proto "$SRCDIR/src/ftp_proto.c"
# The engine is split over src/engine*.c.
fuzz_one engine "$SRCDIR"/src/engine*.c "$SRCDIR/src/ftp_policy.c" "$SRCDIR/src/ftp_proto.c" "$SRCDIR/src/words.c" \
    "$SRCDIR/src/log.c" "$SRCDIR/src/rules.c" "$SRCDIR/src/addr.c" "$SRCDIR/src/proxy_login.c"
# shellcheck disable=SC2046
fuzz_one conf "$SRCDIR"/src/conf*.c "$SRCDIR/src/addr.c" "$SRCDIR/src/portmap.c" \
    "$SRCDIR/src/log.c" "$SRCDIR/src/words.c" "$SRCDIR/src/rules.c" "$SRCDIR/src/ftp_proto.c" "$SRCDIR/src/ratelimit.c" $(pkg-config --cflags --libs libconfuse)
exit $failed
