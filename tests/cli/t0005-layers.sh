#!/bin/sh
# The structure docs/ARCHITECTURE.md describes holds: no circle among the
# modules of lib/ or emu/ (by their includes), the REST endpoints of the
# client library named only in lib/api/, which calls only downward,
# workspace-emu's server knows no API, tools and handlers stay small.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 16

# deps DIR...: "module dependency" lines from #include "x.h" in DIR/*.[ch]
# (a module of lib/api/ is api/NAME; lib/'s other folders' by name alone)
deps() {
	for f in $(for d in "$@"; do ls "$TOP/$d"/*.c "$TOP/$d"/*.h 2>/dev/null; done); do
		m=${f#"$TOP"/}
		m=$(echo "${m#lib/}" | sed 's/\.[ch]$//; s|^emu/||; s|^[a-z]*/\([a-z_]*\)$|\1|;
		    s|^\([a-z_]*\)$|\1|')
		case $f in */lib/api/*) m=api/$(basename "$f" | sed 's/\.[ch]$//') ;; esac
		sed -n 's/^#include "\([a-z_/]*\)\.h".*/\1/p' "$f" |
		while read -r d; do
			[ "$d" = "$m" ] || echo "$m $d"
		done
	done | sort -u
}

for d in lib emu; do
	if [ $d = lib ]; then
		deps lib lib/base lib/net lib/api lib/upload lib/submit
	else
		deps emu emu/core emu/svc emu/jobs
	fi > "$SCRATCH/deps.$d"
	if tsort "$SCRATCH/deps.$d" > /dev/null 2> "$SCRATCH/loop"; then
		ok "$d: no circle among its modules"
	else
		not_ok "$d: its modules include each other in a circle"
		sed 's/^/# /' "$SCRATCH/loop"
	fi
done

# lib/'s folders are floors: base, net, api, upload, submit; subst and
# branch, in lib/ itself, stand beside upload. A file includes headers of
# its own floor and those below only (api/oidc.h, which only names the
# auth endpoints, is for net/token.c).
floor() {
	case $1 in
	base) echo 1 ;; net) echo 2 ;; api) echo 3 ;; upload|top) echo 4 ;;
	submit) echo 5 ;;
	esac
}
where() {	# the floor folder of header NAME (as included)
	case $1 in api/*) echo api; return ;; esac
	for d in base net upload submit; do
		[ -f "$TOP/lib/$d/$1.h" ] && { echo $d; return; }
	done
	[ -f "$TOP/lib/$1.h" ] && echo top
}
up=$(for d in base net api upload submit top; do
	dir=$TOP/lib/$d
	[ $d = top ] && dir=$TOP/lib
	for f in "$dir"/*.c "$dir"/*.h; do
		sed -n 's/^#include "\([a-z_/]*\)\.h".*/\1/p' "$f" |
		while read -r h; do
			w=$(where "$h")
			[ -n "$w" ] || continue		# generated (launch.h)
			[ "$h" = api/oidc ] && continue
			[ "$(floor "$w")" -le "$(floor $d)" ] || echo "${f#"$TOP"/}:$h"
		done
	done
done | sort -u | tr '\n' ' ')
check "lib: each folder includes its own floor and those below" "" "$up"

# endpoint literals ("/api/2.x/...", the /oidc and /aad auth endpoints)
# only in lib/api
lit=$(for f in $(ls "$TOP"/lib/*.[ch] "$TOP"/lib/*/*.[ch] | grep -v '/lib/api/'); do
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
loud=$(grep -ln '[(,] *stderr *)' "$TOP"/lib/*.c "$TOP"/lib/*/*.c | sed "s|$TOP/||" |
    grep -vx 'lib/base/err\.c\|lib/base/buf\.c')
check "lib: only base/err.c writes stderr" "" "$loud"
# workspace-emu's folders are floors too: core (the server, replies, the
# store, the log), svc (the services), jobs; main.c and routes.c, in emu/
# itself, wire them together. A file includes headers of its own floor
# and those below (and lib/'s).
efloor() {
	case $1 in core) echo 1 ;; svc) echo 2 ;; jobs) echo 3 ;; top) echo 4 ;; esac
}
ewhere() {
	for d in core svc jobs; do
		[ -f "$TOP/emu/$d/$1.h" ] && { echo $d; return; }
	done
	[ -f "$TOP/emu/$1.h" ] && echo top
}
up=$(for d in core svc jobs top; do
	dir=$TOP/emu/$d
	[ $d = top ] && dir=$TOP/emu
	for f in "$dir"/*.c "$dir"/*.h; do
		sed -n 's/^#include "\([a-z_/]*\)\.h".*/\1/p' "$f" |
		while read -r h; do
			w=$(ewhere "$h")
			[ -n "$w" ] || continue		# lib/'s
			[ "$(efloor "$w")" -le "$(efloor $d)" ] || echo "${f#"$TOP"/}:$h"
		done
	done
done | sort -u | tr '\n' ' ')
check "emu: each folder includes its own floor and those below" "" "$up"
# the server knows no API: core names no handler, and finds routes and
# issued tokens through what emu_wire gave it
calls=$(grep -l 'emu_\(dbfs\|files\|workspace\|oauth\|entra\|proxy\|jobs\|scim\|cluster\)' \
    "$TOP"/emu/core/*.c 2>/dev/null | sed "s|$TOP/||")
check "emu: core calls no service by name" "" "$calls"
n=$(ls "$TOP"/emu/*.c | wc -l)
check "emu: only main.c and routes.c outside the floors" "2" "$n"
long=$(for f in "$TOP"/emu/jobs/*.c; do
	n=$(wc -l < "$f"); [ "$n" -le 600 ] || echo "$(basename "$f"):$n"
done)
check "emu: no jobs file over 600 lines" "" "$long"
# a tool's main parses options and calls the library
long=$(for f in "$TOP"/tools/*.c; do
	awk -v f="$(basename "$f")" '/^main\(/ { s = NR } s && /^}/ {
	    if (NR - s > 60) print f ":" NR - s; s = 0 }' "$f"
done)
check "tools: main() under 60 lines" "" "$long"
# no function over 100 lines, from its name to its closing brace
long=$(awk '/^[a-z_].*\(/ { name = $0; sub(/\(.*/, "", name); sub(/.* \**/, "", name); s = FNR }
	/^\{/ && s { b = 1 }
	/^\}/ && b { if (FNR - s > 100) print FILENAME ":" name ":" FNR - s; s = b = 0 }' \
    "$TOP"/lib/*.c "$TOP"/lib/*/*.c "$TOP"/emu/*.c "$TOP"/emu/*/*.c "$TOP"/tools/*.c |
    sed "s|$TOP/||" | tr '\n' ' ')
check "no function over 100 lines" "" "$long"
# run records are written by jobs_flush_run alone, which the jobs lock is
# released for: no request waits on the disk behind a run's save
w=$(awk '/^[a-z_].*\(/ { name = $0; sub(/\(.*/, "", name); sub(/.* \**/, "", name) }
	/store_write_file\(/ && name != "jobs_flush_run" && name != "save_def" &&
	name != "store_write_file" { print FILENAME ":" name }' "$TOP"/emu/jobs/*.c |
    sed "s|$TOP/||" | tr '\n' ' ')
check "emu/jobs: run records are written outside the jobs lock" "" "$w"
# no call circle between files: "caller callee" pairs from the objects'
# symbols (nm), which tsort orders unless they loop
circles() {
	for o in $(find "$1" -name '*.o'); do
		m=${o#"$1"/}
		nm -g --defined-only "$o" | awk -v m="$m" '$2 ~ /[TDBR]/ { print "D", $3, m }'
		nm -g --undefined-only "$o" | awk -v m="$m" '{ print "U", $2, m }'
	done | awk '$1 == "D" { def[$2] = $3 } $1 == "U" { n++; user[n] = $3; sym[n] = $2 }
	    END { for (i = 1; i <= n; i++) if (sym[i] in def && def[sym[i]] != user[i])
		print user[i], def[sym[i]] }' | sort -u | tsort 2>&1 >/dev/null |
	    sed -n 's/^tsort: \([a-z].*\.o\)$/\1/p' | sort -u | tr '\n' ' '
}
OBJ=$(cd "$(dirname "$(command -v workspace-emu)")/.." && pwd)
if [ -d "$OBJ/lib" ] && [ -d "$OBJ/emu" ] && command -v nm > /dev/null; then
	check "lib: no call circle" "" "$(circles "$OBJ/lib")"
	check "emu: no call circle" "" "$(circles "$OBJ/emu")"
else
	ok "lib: no call circle # SKIP no objects beside the tools"
	ok "emu: no call circle # SKIP no objects beside the tools"
fi
finish
