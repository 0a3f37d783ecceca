#!/bin/sh
# workspace-emu must never be the bottleneck of a client benchmark: 8
# parallel curl clients PUT 100 MiB files to the Files API on loopback.
# Goals (issue: workspace-emu part 1): aggregate ingest >= 500 MB/s, and the
# emulator's peak resident memory (VmHWM) < 32 MiB throughout.
set -eu
. bench/lib.sh
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
echo bench-token > "$tmp/tok"
"$BIN/workspace-emu" -d "$tmp/data" -l 127.0.0.1:0 --token-file "$tmp/tok" \
    --url-file "$tmp/url" --legacy-dbfs --volume b.e.n >/dev/null &
pid=$!
while [ ! -s "$tmp/url" ]; do sleep 0.05; done
url=$(cat "$tmp/url")
head -c $((100 * 1024 * 1024)) /dev/urandom > "$tmp/f"
cat "$tmp/f" > /dev/null	# warm the page cache
put() {
	curl -sf -o /dev/null -H "Authorization: Bearer bench-token" -T "$tmp/f" \
	    "$url/api/2.0/fs/files/Volumes/b/e/n/ch/f$1"
}
best=0
for round in 1 2 3; do
	t0=$(date +%s%N)
	pids=
	for i in 1 2 3 4 5 6 7 8; do
		put "$round-$i" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p"; done
	t1=$(date +%s%N)
	mbs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", 8 * 100 * 1048576 / (ns / 1e9) / 1e6 }')
	echo "round $round: 8 x 100 MiB in $(( (t1 - t0) / 1000000 )) ms: $mbs MB/s"
	[ "$mbs" -gt "$best" ] && best=$mbs
	rm -rf "$tmp/data/dbfs/Volumes"
done
hwm=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
echo "best aggregate ingest: $best MB/s (goal >= 500): $([ "$best" -ge 500 ] && echo met || echo MISSED)"
echo "emulator peak RSS: $((hwm / 1024)) MiB (goal < 32): $([ "$hwm" -lt 32768 ] && echo met || echo MISSED)"
