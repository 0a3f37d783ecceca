#!/bin/sh
# Bad input named where it is, the same by every tool: a JSON mistake at
# its true line and column with what was expected there (and status 2 from
# both tools that read cluster JSON), endless files refused at a bound, a
# NUL on stdin, messages without an empty file name, and a temporary a
# killed wheelpath-subst left kept out of the project tarball.
. "$(dirname "$0")/lib.sh"
plan 18

C='{"spark_version": "15.4.x", "node_type_id": "x", "num_workers": 1}'
mkdir p
printf 'name: p\nentry_points:\n  main:\n    command: "true"\n' > p/MLproject
printf '{\n  "spark_version": "15.4.x",\n  "node_type_id": "x",\n  "num_workers": 1,\n}\n' > comma.json
run mlflow-submit -n -c comma.json --experiment-name /Shared/x p
check "trailing comma: mlflow-submit at 5:1" "2 mlflow-submit: comma.json:5:1: expected a string key after ',' (a trailing comma?)" "$rc $err"
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n comma.json
check "trailing comma: wheelpath-subst the same" "2 wheelpath-subst: comma.json:5:1: expected a string key after ',' (a trailing comma?)" "$rc $err"
printf '{\n  "libraries": [\n    {"whl": "dbfs:/x.whl"}\n    {"whl": "dbfs:/y.whl"}\n  ]\n}\n' > missing.json
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n missing.json
check "a missing comma: where the next value starts" "2 wheelpath-subst: missing.json:4:5: expected ',' or ']'" "$rc $err"
printf '{"a" 1}' > colon.json
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n colon.json
check "a missing colon" "2 wheelpath-subst: colon.json:1:6: expected ':' after the key" "$rc $err"
printf '[1, 2,]' > arr.json
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n arr.json
check "a trailing comma in an array" "2 wheelpath-subst: arr.json:1:7: expected a value after ',' (a trailing comma?)" "$rc $err"

# endless input: refused at the bound (it read without one, to 11 GB)
run timeout 30 mlflow-submit -n -c /dev/zero --experiment-name /Shared/x p
check "mlflow-submit -c /dev/zero: refused at 16 MiB" "2 mlflow-submit: /dev/zero: larger than 16777216 bytes: not a cluster config" "$rc $err"
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n /dev/zero
check "wheelpath-subst /dev/zero: one colon" "2 wheelpath-subst: /dev/zero: larger than 67108864 bytes" "$rc $err"

printf 'dependencies:\n  - pip:\n    - /dbfs/wheels/builds/WHEELPATH\n' > conda.yaml
printf '/dbfs/w/a-1-py3-none-any.whl\n/dbfs/w/b\0-1-py3-none-any.whl\n' > nul.txt
run sh -c 'wheelpath-subst conda.yaml < nul.txt'
check "a NUL on stdin: named, not dropped" "2 wheelpath-subst: <stdin>:2:10: a NUL byte: not a wheel path (one path a line, or a manifest)" "$rc $err"

# the temporary of a killed wheelpath-subst -i stays out of the tarball
digest() { mlflow-submit -n -c "$C" --experiment-name /Shared/x p 2>&1 |
    sed -n 's/.*project tarball \([0-9a-f]*\).*/\1/p'; }
before=$(digest)
check "a dry run names the tarball" 64 "${#before}"
echo half > "p/.conda.yaml.dbmlops-tmp.Ab12Cd"
check "a leftover temporary: the same tarball" "$before" "$(digest)"
echo data > p/extra.txt
after=$(digest)
[ "$after" != "$before" ] && ok "a real file changes it" || not_ok "a real file changes it"
# and wheelpath-subst -i writes its temporary under that mark
cp conda.yaml p/conda.yaml
run strace -f -e trace=openat -o trace.txt wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -i p/conda.yaml
if command -v strace > /dev/null; then
	check "wheelpath-subst -i: its temporary is marked" 1 "$(grep -c 'p/\.conda\.yaml\.dbmlops-tmp\.' trace.txt | tr -d ' ' | sed 's/^[1-9][0-9]*$/1/')"
else
	ok "wheelpath-subst -i: its temporary is marked # SKIP no strace"
fi
# cluster field types the workspace would refuse, said before sending
for c in '"spark_version": 15, "node_type_id": "x", "num_workers": 1|new_cluster.spark_version must be a string' \
    '"spark_version": "15.4.x", "node_type_id": "x", "num_workers": -1|new_cluster.num_workers: '"'"'-1'"'"' is not a number of workers (a whole number, 0 or more)' \
    '"spark_version": "15.4.x", "node_type_id": "x", "num_workers": "x"|new_cluster.num_workers: '"'"'x'"'"' is not a number of workers (a whole number, 0 or more)' \
    '"spark_version": "15.4.x", "node_type_id": "x", "num_workers": 1e400|new_cluster.num_workers: '"'"'1e400'"'"' is not a number of workers (a whole number, 0 or more)' \
    '"spark_version": "15.4.x", "node_type_id": "x", "autoscale": {"min_workers": 5, "max_workers": 2}|new_cluster.autoscale: min_workers 5 is more than max_workers 2'; do
	run mlflow-submit -n -c "{${c%%|*}}" --experiment-name /Shared/x p
	check "refused: ${c#*|}" "2 mlflow-submit: --backend-config: ${c#*|}" "$rc $err"
done
printf '{"spark_version": "15.4.x\377", "node_type_id": "x", "num_workers": 1}' > utf8.json
run mlflow-submit -n -c utf8.json --experiment-name /Shared/x p
check "a cluster spec that is not UTF-8" "2 mlflow-submit: utf8.json: the cluster spec is not UTF-8 (byte 25 of it): the workspace refuses it" "$rc $err"
finish
