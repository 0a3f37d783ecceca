#!/bin/sh
# Every header of lib/ and emu/ (each folder) compiles on its own, first in a
# unit: it includes what it uses. make test-cli passes the compiler and the
# flags of the build (TEST_CC, TEST_CPPFLAGS).
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 12

cc=${TEST_CC:-cc}
flags="-std=c11 -D_XOPEN_SOURCE=700 -I$TOP/lib \
-I$TOP/lib/base -I$TOP/lib/net -I$TOP/lib/upload -I$TOP/lib/submit -I$TOP/emu \
-I$TOP/emu/core -I$TOP/emu/svc -I$TOP/emu/jobs \
${TEST_CPPFLAGS:-}"
for d in lib lib/base lib/net lib/api lib/upload lib/submit emu emu/core emu/svc emu/jobs; do
	bad=
	for h in "$TOP/$d"/*.h; do
		printf '#include "%s"\n' "$h" > "$SCRATCH/h.c"
		# shellcheck disable=SC2086
		$cc $flags -Wall -Werror -fsyntax-only "$SCRATCH/h.c" \
		    2> "$SCRATCH/h.err" || bad="$bad ${h#"$TOP"/}"
	done
	check "$d: every header compiles alone" "" "$bad"
	[ -z "$bad" ] || sed 's/^/# /' "$SCRATCH/h.err" | head -5
done

# scripts/configure.sh asks the linker for --as-needed rather than assuming it
printf '#!/bin/sh\nfor a; do case $a in -Wl,--as-needed) exit 1 ;; esac; done\nexec %s "$@"\n' \
    "$cc" > "$SCRATCH/cc-plain"
chmod +x "$SCRATCH/cc-plain"
run env CC="$cc" sh "$TOP/scripts/configure.sh"
check "configure: a linker that takes --as-needed gets it" \
    "AS_NEEDED = -Wl,--as-needed" "$(printf '%s\n' "$out" | grep '^AS_NEEDED')"
run env CC="$SCRATCH/cc-plain" sh "$TOP/scripts/configure.sh"
check "configure: one that does not, not" "AS_NEEDED = " \
    "$(printf '%s\n' "$out" | grep '^AS_NEEDED')"
finish
