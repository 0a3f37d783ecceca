#!/bin/sh
# Every tool: --help and --version on stdout with exit 0, unknown options and
# missing arguments exit 2 with "try '<tool> --help'", stdout write errors
# are errors.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 60

for t in branch-name branch-clean dbfs-put wheelpath-subst wheel-label mlflow-submit workspace-emu; do
	run $t --help
	check "$t --help exits 0" 0 "$rc"
	case $out in "usage: $t "*) ok "$t --help prints usage on stdout" ;; *) not_ok "$t --help on stdout" ;; esac
	run $t --version
	# "tool 0.2.0", with "(commit 1a2b3c4d5e6f)" when built from git
	v=$(cat "$TOP/VERSION")
	case $out in
	"$t $v"|"$t $v (commit "[0-9a-f]*")") ok "$t --version names the release" ;;
	*) not_ok "$t --version"; echo "# $out" ;;
	esac
	run $t --no-such-option
	check "$t bad option exits 2" 2 "$rc"
	case $err in *"try '$t --help'"*) ok "$t bad option points to --help" ;; *) not_ok "$t bad option message"; echo "# $err" ;; esac
done

run dbfs-put only-one-arg
check "dbfs-put needs a destination" 2 "$rc"
run wheelpath-subst
check "wheelpath-subst needs a file" 2 "$rc"
run branch-clean
check "branch-clean needs a folder or an experiment" 2 "$rc"
run branch-clean --keep 2
check "branch-clean --keep needs a folder" 2 "$rc"
run branch-clean --min-age soon dbfs:/x
check "branch-clean --min-age needs a number" 2 "$rc"
run branch-clean --workspace old dbfs:/x
check "branch-clean --workspace new or legacy" 2 "$rc"
run env -u DATABRICKS_HOST -u DATABRICKS_TOKEN HOME=/nonexistent DATABRICKS_CONFIG_FILE=/nonexistent/cfg branch-clean dbfs:/x
check "branch-clean without credentials exits 77" 77 "$rc"
run mlflow-submit --last-run uri
check "mlflow-submit --last-run takes no project" 2 "$rc"
run mlflow-submit --last-run -n
check "mlflow-submit --last-run goes without -n" 2 "$rc"
run wheel-label
check "wheel-label needs a wheel" 2 "$rc"
run wheel-label no-such-1.0-py3-none-any.whl
check "wheel-label: a missing wheel exits 1" 1 "$rc"
run mlflow-submit .
check "mlflow-submit needs -c" "mlflow-submit: -c cluster.json is needed (a new job cluster's spec, as mlflow run -b databricks takes it), or --serverless or --cluster-id
mlflow-submit: try 'mlflow-submit --help'" "$err"
run mlflow-submit --version abc .
check "mlflow run's --version REF is not taken for ours" "mlflow-submit: --version prints mlflow-submit's version; to run a git commit (mlflow run --version REF) write -v REF
mlflow-submit: try 'mlflow-submit --help'" "$err"
# a relative experiment name: the hint adds the slash, not a second /Shared
printf 'name: x\nentry_points:\n  main:\n    command: "python t.py"\n' > MLproject
c='{"spark_version":"15.4.x-scala2.12","node_type_id":"x","num_workers":0}'
run mlflow-submit -n -c "$c" --experiment-name Shared/x .
check "a relative experiment name is a usage error" 2 "$rc"
check "its hint is the name with its slash" "mlflow-submit: experiment name 'Shared/x': a Databricks experiment name is an absolute workspace path; did you mean /Shared/x?" "$err"
rm MLproject
# --debug, as the Databricks CLI spells the request trace
for t in dbfs-put mlflow-submit; do
	run $t --debug --help
	check "$t takes --debug" "0 1" "$rc $(printf '%s\n' "$out" | grep -c -- '--debug')"
done
run mlflow-submit -b local -c x.json .
check "mlflow-submit: other backends" 2 "$rc"
run mlflow-submit -b databricks -c '{}' -P a=1 -P a=2 .
check "mlflow-submit: a repeated -P" "mlflow-submit: -P: repeated parameter 'a'
mlflow-submit: try 'mlflow-submit --help'" "$err"
if [ -w /dev/full ]; then
	run sh -c 'dbfs-put --help > /dev/full'
	check "a write error on stdout is an error" 1 "$rc"
else
	ok "a write error on stdout is an error # SKIP no /dev/full"
fi
# a profile typo: the one status for configuration and credentials (77),
# with the profiles that exist, from both tools that talk to a workspace
printf '[DEFAULT]\nhost = https://d\n[dev]\nhost = https://x\ntoken = t\n' > cfg
echo w > w.whl
for t in "dbfs-put w.whl dbfs:/x/" "mlflow-submit -b databricks -c {} ."; do
	run env DATABRICKS_CONFIG_FILE=cfg $t -p dve
	check "${t%% *}: a profile typo exits 77" 77 "$rc"
	check "${t%% *}: ... and lists the profiles" \
	    "${t%% *}: cfg: profile 'dve' does not exist (profiles: DEFAULT, dev)" \
	    "$(printf '%s\n' "$err" | head -1)"
done
# shell mode pins the cluster's mlflow to the version the tests run
pin=$(sed -n 's/^#define DBM_MLFLOW_VERSION "\(.*\)"$/\1/p' "$TOP/lib/submit/submit.h")
want=$(sed -n 's/^mlflow==//p' "$TOP/tests/requirements.txt")
[ -n "$want" ] || want="(no mlflow pin in tests/requirements.txt)"
check "the mlflow pin is the tested mlflow" "$want" "$pin"
finish
