#!/bin/sh
# Hostile nesting: JSON and YAML nested 100000 deep are refused by every
# reader with file:line:col and "nesting deeper than 512", at once (no
# stack overflow, no quadratic time), and the same files 512 deep pass.
. "$(dirname "$0")/lib.sh"
plan 7

deep() {	# deep N OPEN CLOSE: N opens then N closes
	awk -v n="$1" -v o="$2" -v c="$3" 'BEGIN {
	    for (i = 0; i < n; i++) printf "%s", o
	    for (i = 0; i < n; i++) printf "%s", c; print "" }'
}
deep 100000 '[' ']' > deep.json
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n deep.json
check "deep JSON: wheelpath-subst refuses" "2 wheelpath-subst: deep.json:1:513: nesting deeper than 512" "$rc $err"
{ printf 'x: '; deep 100000 '[' ']'; } > deep.yaml
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n deep.yaml
check "deep YAML: wheelpath-subst refuses" "2 wheelpath-subst: deep.yaml:1:515: nesting deeper than 512" "$rc $err"
{ printf 'x: '; deep 511 '[' ']'; echo 'w: /dbfs/wheels/builds/WHEELPATH'; } > ok.yaml
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n ok.yaml
check "YAML 512 deep passes" 0 "$rc"

mkdir p
{ echo 'name: p'; printf 'x: '; deep 100000 '[' ']'; } > p/MLproject
echo '{"spark_version": "12.2.x-scala2.12", "node_type_id": "x", "num_workers": 1}' > c.json
run mlflow-submit -n -c c.json --experiment-name /Shared/x p
check "deep MLproject: mlflow-submit refuses" "2 mlflow-submit: p/MLproject:2:515: nesting deeper than 512" "$rc $err"
{ printf '{"new_cluster": '; deep 100000 '[' ']'; echo '}'; } > deep-c.json
printf 'name: p\nentry_points:\n  main:\n    command: "true"\n' > p/MLproject
run mlflow-submit -n -c deep-c.json --experiment-name /Shared/x p
check "deep backend config: refused" "2 mlflow-submit: deep-c.json:1:528: nesting deeper than 512" "$rc $err"
deep 100000 '{"a":' '}' > objs.json
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n objs.json
check "deep objects: refused" "2 wheelpath-subst: objs.json:1:2561: nesting deeper than 512" "$rc $err"
run wheelpath-subst -w /dbfs/w/a-1-py3-none-any.whl -n /dev/null
check "an empty file is no crash" 1 "$rc"
finish
