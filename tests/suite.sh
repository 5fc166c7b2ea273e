#!/bin/sh
# The whole test suite, as CI runs it, on a fresh Debian 12 as root:
# dependencies, a normal build with unit and integration tests, make
# distcheck, an ASan+UBSan build running the tests again, the fuzz targets,
# and the man page lint. One summary line per tier at the end.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
results=""
failed=0

# The suite must stay under 20 minutes on a 2-core machine: each tier's
# time is in the summary, and the whole at its end.
suite_t0=$(date +%s)
tier() {    # tier NAME COMMAND...: run one tier, remember PASS/FAIL and its time
	name=$1; shift
	echo "=== $name"
	tier_t0=$(date +%s)
	if "$@"; then verdict=PASS; else verdict=FAIL; failed=1; fi
	results="$results
$verdict: $name ($(($(date +%s) - tier_t0)) s)"
}

# The failed tests of a build, each with the "# ..." diagnostics that follow
# its "not ok" line, into $failures: printed again after the summary, since
# CI shows the end of the output.
failures=$(mktemp) || exit 1
trap 'rm -f "$failures"' EXIT
show_logs() {
	for log in $(grep -l -E '^(not ok|FAIL|ERROR)' "$1"/tests/*.log "$1"/tests/*/*.log 2>/dev/null); do
		echo "--- $log"
		awk '/^not ok|^(FAIL|ERROR):/ { keep = 80; print; next }
			keep > 0 && /^#/ { keep--; print; next }
			{ keep = 0 }' "$log"
	done | tee -a "$failures"
}

if [ "$(id -u)" -eq 0 ] && [ "${FTPGW_NO_INSTALL:-}" = "" ]; then
	sh "$top/contrib/debian-deps.sh" --test || exit 1
fi
cd "$top" && autoreconf -fi || exit 1

build_and_check() {     # build_and_check DIR CONFIGURE-FLAGS...
	dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
	"$top/configure" -q "$@" && make -j"$jobs" >/dev/null &&
	{ make -j"$jobs" check || { show_logs "$dir"; false; }; }
	rc=$?; cd "$top"; return $rc
}

missing_package() {    # configure must name what pkg-config cannot find
	pc=$(mktemp -d) && dir=$(mktemp -d) || return 1
	for m in libevent libevent_core libevent_openssl libevent_extra openssl libssl libcrypto; do
		ln -s "$(pkg-config --variable=pcfiledir $m)/$m.pc" "$pc/"
	done
	(cd "$dir" && PKG_CONFIG_LIBDIR=$pc "$top/configure" > log 2>&1); rc=$?
	grep -q 'libconfuse.*not found.*install libconfuse-dev' "$dir/log"; found=$?
	[ $rc -ne 0 ] && [ $found -eq 0 ] || tail -3 "$dir/log"
	rm -rf "$pc" "$dir"
	[ $rc -ne 0 ] && [ $found -eq 0 ]
}

# Accounts the tests make (GECOS "ftpgw integration tests..."), listed
# before any tier: the last tier checks that the suite removed its own.
test_accounts() { getent passwd | awk -F: '$5 ~ /^ftpgw integration tests/ { print $1 }' | sort; }
accounts_before=$(test_accounts)
no_account_left() {
	left=$(test_accounts | awk -v before="$accounts_before" \
		'BEGIN { n = split(before, b, "\n"); for (i = 1; i <= n; i++) had[b[i]] = 1 } !($0 in had)')
	[ -z "$left" ] || { echo "left behind:" $left; return 1; }
	echo "test accounts before the suite: ${accounts_before:-none}; none added"
}

tier "configure names a missing package" missing_package
tier "build + unit + integration" build_and_check "$top/_build/default" --enable-debug
tier "distcheck (unit tests)" sh -c "cd '$top/_build/default' && FTPGW_SKIP_INTEGRATION=1 make -j$jobs distcheck >/dev/null"
# The sanitizer build runs every lane with data-path = kernel: the relay
# still carries TLS and the fallbacks there, the default build carries all.
kernel_path() { (export FTPGW_IT_DATA_PATH=kernel; build_and_check "$@"); }
tier "ASan+UBSan build + unit + integration (data-path = kernel)" kernel_path "$top/_build/asan" --enable-sanitizers
tier "fuzz (grammar, session engine, config loader)" sh "$top/tests/fuzz/run.sh" "$top" "$top/_build/default" "${FTPGW_FUZZ_SECONDS:-60}"
# Pages naming configured paths are generated (man/*.in): lint those of the build.
tier "man pages (mandoc -T lint)" sh -c "out=\$(mandoc -T lint -W warning '$top'/man/*.[58] '$top'/_build/default/man/*.[58] 2>&1); echo \"\$out\"; [ -z \"\$out\" ]"

# Installing and packaging (TAP scripts of their own).
tier "make install (kept ftpgw.conf, man page paths)" sh "$top/tests/install.sh" "$top"
tier "debian package (dpkg-buildpackage, lintian, contents, ftpgw -t)" sh "$top/tests/package.sh" "$top"
tier "no test account left behind" no_account_left

echo "=== summary$results
the whole suite: $(($(date +%s) - suite_t0)) s"
if [ -s "$failures" ]; then echo "=== what failed"; cat "$failures"; fi
exit $failed
