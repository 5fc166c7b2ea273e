#!/bin/sh
# The modules of src/ must not depend on each other in a circle: such a pair
# can only be understood, tested and changed together. A module is x.c and
# x.h and the x_*.[ch] files named after it (session_data.c, conf_lex.h);
# it depends
# on y when one of its files has #include "y.h". Any cycle not listed in
# KNOWN_CYCLES fails, named with the #include lines that make it.
# TAP output.

# Cycles tolerated for now: each one the sorted members of its strongly
# connected component, space-separated; several separated by ";". None:
# sessions get a narrow environment (session.h), ctl a source (ctl.h).
KNOWN_CYCLES=""

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
src=$SRCDIR/src

echo "1..3"
fails=0
[ -d "$src" ] || { echo "Bail out! no $src"; exit 1; }

# The module of each file: x.c and x.h are module x, and so is the family
# of files named x_*.[ch] when x.h exists (session_data.c, session_int.h,
# conf_lex.c are modules session and conf). "FILE MODULE" lines.
map=$(cd "$src" && for f in *.c *.h; do
	stem=${f%.[ch]}
	mod=$stem
	case $stem in
	*_*) [ -f "${stem%%_*}.h" ] && mod=${stem%%_*} ;;
	esac
	echo "$f $mod"
done)
modules=$(printf '%s\n' "$map" | awk '{ print $2 }' | sort -u)

# "FILE MODULE INCLUDED-MODULE LINE" for every #include "x.h" of src/.
edges=$(cd "$src" && for f in *.c *.h; do
	awk -v f="$f" -v map="$map" '
		BEGIN {
			n = split(map, l, "\n")
			for (i = 1; i <= n; i++) {
				split(l[i], kv, " ")
				mod[kv[1]] = kv[2]
			}
		}
		function module(name) {
			if (name in mod)
				return mod[name]
			sub(/\.[ch]$/, "", name)
			return name
		}
		/^[ \t]*#[ \t]*include[ \t]*"/ {
			split($0, q, "\"")
			print f, module(f), module(q[2]), FNR
		}' "$f"
done)

# The cycles: strongly connected components of more than one module, each
# "MEMBERS|A -> B -> A|why" (members sorted; the path through the first
# member; the #include lines of its edges).
cycles=$(printf '%s\n' "$edges" | awk -v mods="$(echo $modules)" '
	BEGIN {
		n = split(mods, m, " ")
		for (i = 1; i <= n; i++)
			known[m[i]] = 1
	}
	# Only modules of src/: "config.h" is generated, <x.h> is no module.
	$2 != $3 && ($3 in known) {
		if (!(($2, $3) in dep)) {
			dep[$2, $3] = 1
			why[$2, $3] = $1 ":" $4 " includes " $3 ".h"
		}
	}
	END {
		for (i = 1; i <= n; i++)
			for (j = 1; j <= n; j++)
				reach[m[i], m[j]] = ((m[i], m[j]) in dep)
		for (k = 1; k <= n; k++)
			for (i = 1; i <= n; i++)
				if (reach[m[i], m[k]])
					for (j = 1; j <= n; j++)
						if (reach[m[k], m[j]])
							reach[m[i], m[j]] = 1
		for (i = 1; i <= n; i++) {
			a = m[i]
			if (a in done)
				continue
			members = a
			for (j = i + 1; j <= n; j++)
				if (reach[a, m[j]] && reach[m[j], a]) {
					members = members " " m[j]
					done[m[j]] = 1
				}
			if (members == a)
				continue
			# A shortest way back to a, breadth first.
			delete prev
			head = 1; tail = 1; queue[1] = a; found = 0
			while (head <= tail && !found) {
				x = queue[head++]
				for (j = 1; j <= n; j++) {
					y = m[j]
					if (!((x, y) in dep))
						continue
					if (y == a) { last = x; found = 1; break }
					if (!(y in prev)) { prev[y] = x; queue[++tail] = y }
				}
			}
			path = a; text = why[last, a]; x = last
			while (x != a) {
				path = x " -> " path
				text = why[prev[x], x] "; " text
				x = prev[x]
			}
			print members "|" a " -> " path "|" text
		}
	}')

n_mods=$(echo "$modules" | wc -l)
n_deps=$(printf '%s\n' "$edges" | awk '$2 != $3 { print $2, $3 }' | sort -u | wc -l)
if [ "$n_mods" -ge 10 ] && [ "$n_deps" -ge 10 ]; then
	echo "ok 1 - module graph of src/: $n_mods modules, $n_deps dependencies"
else
	fails=$((fails + 1))
	echo "not ok 1 - module graph of src/: only $n_mods modules, $n_deps dependencies found"
fi

# "new" or "known", then the cycle, per line.
found=$(printf '%s\n' "$cycles" | while IFS='|' read -r members path why; do
	[ -n "$members" ] || continue
	case ";$KNOWN_CYCLES;" in
	*";$members;"*) echo "known cycle: $path ($why)" ;;
	*) echo "new cycle: $path ($why)" ;;
	esac
done)
if printf '%s\n' "$found" | grep -q '^new'; then
	fails=$((fails + 1))
	echo "not ok 2 - no include cycle between modules but the known ones ($KNOWN_CYCLES)"
else
	echo "ok 2 - no include cycle between modules but the known ones ($KNOWN_CYCLES)"
fi
[ -z "$found" ] || printf '%s\n' "$found" | sed 's/^/# /'
# A known cycle that is gone should leave the list, so that it cannot
# come back unnoticed.
old=$(IFS=';'; for k in $KNOWN_CYCLES; do
	printf '%s\n' "$cycles" | grep -q "^$k|" || echo "# no longer a cycle: $k: remove it from KNOWN_CYCLES"
done)
if [ -z "$old" ]; then
	echo "ok 3 - every cycle of KNOWN_CYCLES still exists"
else
	fails=$((fails + 1))
	echo "not ok 3 - every cycle of KNOWN_CYCLES still exists"
	echo "$old"
fi
[ "$fails" = 0 ]
