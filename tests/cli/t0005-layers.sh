#!/bin/sh
# The structure docs/ARCHITECTURE.md describes holds: no circle among the
# modules of lib/ or emu/ (by their includes), the REST endpoints of the
# client library named only in lib/api/, which calls only downward,
# workspace-emu's server knows no API, tools and handlers stay small.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 10

# deps DIR...: "module dependency" lines from #include "x.h" in DIR/*.[ch]
# (a module of lib/api/ is api/NAME)
deps() {
	for f in $(for d in "$@"; do ls "$TOP/$d"/*.c "$TOP/$d"/*.h; done); do
		m=${f#"$TOP"/}
		m=$(echo "${m#lib/}" | sed 's/\.[ch]$//; s|^emu/||')
		sed -n 's/^#include "\([a-z_/]*\)\.h".*/\1/p' "$f" |
		while read -r d; do
			[ "$d" = "$m" ] || echo "$m $d"
		done
	done | sort -u
}

for d in lib emu; do
	deps $d $([ $d = lib ] && echo lib/api) > "$SCRATCH/deps.$d"
	if tsort "$SCRATCH/deps.$d" > /dev/null 2> "$SCRATCH/loop"; then
		ok "$d: no circle among its modules"
	else
		not_ok "$d: its modules include each other in a circle"
		sed 's/^/# /' "$SCRATCH/loop"
	fi
done
# endpoint literals ("/api/2.x/...", the /oidc and /aad auth endpoints)
# only in lib/api
lit=$(for f in "$TOP"/lib/*.c "$TOP"/lib/*.h; do
	# code only: comments may name an endpoint
	sed 's|/\*.*||; /^[[:space:]]*\*/d' "$f" |
	    grep -q '"/api/2\.[0-9]\|"/oidc/\|"/aad/' && echo "${f#"$TOP"/}"
done)
check "lib: endpoints are named in lib/api only" "" "$lit"
# lib/api calls downward only: http, json, buf, err and its own files
up=$(grep -h '^#include "' "$TOP"/lib/api/*.[ch] | sed 's/^#include "\(.*\)".*/\1/' |
    grep -vx 'api/[a-z_]*\.h\|http\.h\|json\.h\|buf\.h\|err\.h' | sort -u | tr '\n' ' ')
check "lib/api: includes only http, json, buf, err and lib/api" "" "$up"
# every function of lib/api is an endpoint's: none reaches the engines
eng=$(grep -l 'dbm_upload_\|dbm_submit_\|dbm_mlflow_\|dbm_run_' "$TOP"/lib/api/*.c \
    2>/dev/null | sed "s|$TOP/||")
check "lib/api: calls no engine" "" "$eng"
# the library speaks through the reporter (err.c), never to stderr itself
# (buf.c's out-of-memory line before abort aside)
loud=$(grep -ln '[(,] *stderr *)' "$TOP"/lib/*.c "$TOP"/lib/api/*.c | sed "s|$TOP/||" |
    grep -vx 'lib/err\.c\|lib/buf\.c')
check "lib: only err.c writes stderr" "" "$loud"
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
