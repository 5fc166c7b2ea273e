# tests/tap.sh: sourced by the suite's TAP scripts (tests/install.sh,
# tests/package.sh): a temporary directory $tmp removed at exit, and
# check NAME COMMAND... printing one "ok N" / "not ok N" line (with the
# command's last output lines as "# " comments when it fails). End with
# tap_end, whose status is the scripts'.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
n=0
fails=0

check() {   # check NAME COMMAND...: ok when COMMAND succeeds
	name=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		tail -n 40 "$tmp/out" | sed 's/^/# /'
		fails=$((fails + 1))
	fi
}

tap_end() {
	echo "1..$n"
	[ "$fails" = 0 ]
}
