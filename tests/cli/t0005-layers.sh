#!/bin/sh
# The structure docs/ARCHITECTURE.md describes holds: no circle among the
# modules of lib/ or emu/ (by their includes), workspace-emu's server knows
# no API, tools and handlers stay small.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 6

# deps DIR: "module dependency" lines from #include "x.h" in DIR/*.[ch]
deps() {
	for f in "$TOP/$1"/*.c "$TOP/$1"/*.h; do
		m=$(basename "$f" | sed 's/\.[ch]$//')
		sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" |
		while read -r d; do
			[ "$d" = "$m" ] || echo "$m $d"
		done
	done | sort -u
}

for d in lib emu; do
	deps $d > "$SCRATCH/deps.$d"
	if tsort "$SCRATCH/deps.$d" > /dev/null 2> "$SCRATCH/loop"; then
		ok "$d: no circle among its modules"
	else
		not_ok "$d: its modules include each other in a circle"
		sed 's/^/# /' "$SCRATCH/loop"
	fi
done
apis=$(grep -l '#include "\(api\|jobs\|jobs_int\)\.h"' "$TOP/emu/server.c" \
    "$TOP/emu/reply.c" "$TOP/emu/reqlog.c" 2>/dev/null)
check "emu: server, reply and the log include no API" "" "$apis"
calls=$(grep -l 'emu_\(dbfs\|files\|workspace\|oauth\|proxy\|jobs_api\|scim\)' \
    "$TOP/emu/server.c" "$TOP/emu/reply.c" 2>/dev/null)
check "emu: server and reply call no handler by name" "" "$calls"
long=$(for f in "$TOP"/emu/jobs*.c; do
	n=$(wc -l < "$f"); [ "$n" -le 600 ] || echo "$(basename "$f"):$n"
done)
check "emu: no jobs file over 600 lines" "" "$long"
# a tool's main parses options and calls the library
long=$(for f in "$TOP"/tools/*.c; do
	awk -v f="$(basename "$f")" '/^main\(/ { s = NR } s && /^}/ {
	    if (NR - s > 60) print f ":" NR - s; s = 0 }' "$f"
done)
check "tools: main() under 60 lines" "" "$long"
finish
