# Helpers for the benchmarks: wall time of N runs of a command.
BIN=${DBMLOPS_BIN:-$(pwd)/build/bin}

# mean_ms N CMD...: mean wall time per run, in milliseconds (hyperfine when
# installed, else a plain loop).
mean_ms() {
	n=$1
	shift
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -w 20 -r "$n" --export-json /tmp/dbm-bench.json \
		    "$*" >/dev/null 2>&1
		python3 -c 'import json;print("%.3f" % (json.load(open("/tmp/dbm-bench.json"))["results"][0]["mean"]*1000))'
		return
	fi
	t0=$(date +%s%N)
	i=0
	while [ $i -lt "$n" ]; do
		"$@" >/dev/null
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / n / 1000 ))" | awk '{printf "%.3f\n", $1 / 1000}'
}
