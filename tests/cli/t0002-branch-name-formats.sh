#!/bin/sh
# branch-name: --format templates, --export, --json, usage errors.
. "$(dirname "$0")/lib.sh"
plan 23

export DBMLOPS_BRANCH=main DBMLOPS_PROJECT=demo_proj DBMLOPS_USER=ann
run branch-name -F '/Shared/{project}/{branch}' --format 'wheels/{branch}' -F '{{x}}'
check "formats exit 0" 0 "$rc"
printf '%s\n' /Shared/demo_proj/main wheels/main '{x}' > want
golden "formats, one per line" want

run branch-name --export -F EXPERIMENT=/Shared/{project}/{user}/{branch}
cat > want <<'X'
DBMLOPS_BRANCH_SLUG='main'; export DBMLOPS_BRANCH_SLUG
DBMLOPS_BRANCH_RAW='main'; export DBMLOPS_BRANCH_RAW
DBMLOPS_BRANCH_SOURCE='DBMLOPS_BRANCH'; export DBMLOPS_BRANCH_SOURCE
EXPERIMENT='/Shared/demo_proj/ann/main'; export EXPERIMENT
X
golden "export lines" want

run env DBMLOPS_BRANCH="it's/odd" branch-name --export
eval "$out"
check "export survives eval with quotes" "it's/odd" "$DBMLOPS_BRANCH_RAW"

run branch-name --json -F W=wheels/{branch}
cat > want <<'X'
{"raw":"main","slug":"main","source":"DBMLOPS_BRANCH","detached":false,"sha":null,"project":"demo_proj","formats":[{"name":"W","template":"wheels/{branch}","value":"wheels/main"}]}
X
golden "json document" want

run branch-name -F '{nope}'
check "unknown placeholder: exit 2" 2 "$rc"
check "unknown placeholder: message" "branch-name: format '{nope}': unknown placeholder {nope} (known: {branch} {project} {user} {sha} {build})
branch-name: try 'branch-name --help'" "$err"

run branch-name -F '{sha}'
check "missing value: exit 1" 1 "$rc"
check "missing value: message" "branch-name: format '{sha}': no value for {sha}: run in a git checkout or set DBMLOPS_SHA" "$err"

run env DBMLOPS_BUILD_ID=20260101.3 branch-name -F 'r-{build}'
check "build id" "r-20260101.3" "$out"

# {project} from the CI system's repository name, before the folder's
# (an Azure Pipelines checkout is always called s)
unset DBMLOPS_PROJECT
run env GITHUB_REPOSITORY=acme/churn-model branch-name -F '{project}'
check "project: GitHub owner/name" "churn-model" "$out"
run env BUILD_REPOSITORY_NAME=Fraud_Scoring branch-name -F '{project}'
check "project: Azure Repos name, slugged" "fraud-scoring--fd661a73b1" "$out"
run env BUILD_REPOSITORY_NAME=acme/forecast branch-name -F '{project}'
check "project: Azure on a GitHub repository" "forecast" "$out"
run env CI_PROJECT_NAME=ltv branch-name -F '{project}'
check "project: GitLab" "ltv" "$out"
run env GITHUB_REPOSITORY=acme/a DBMLOPS_PROJECT=mine branch-name -F '{project}'
check "project: DBMLOPS_PROJECT wins" "mine" "$out"
run env GITHUB_REPOSITORY=acme/a branch-name --project cli -F '{project}'
check "project: --project wins" "cli" "$out"
mkdir s && git -C s init -q 2>/dev/null
run sh -c 'cd s && BUILD_REPOSITORY_NAME=pricing branch-name -F "{project}"'
check "project: not the checkout folder's name" "pricing" "$out"
export DBMLOPS_PROJECT=demo_proj

run branch-name --export -F 'nope'
check "export needs names: exit 2" 2 "$rc"

run branch-name --bogus
check "bad option: exit 2" 2 "$rc"
run branch-name extra
check "extra argument: exit 2" 2 "$rc"

run branch-name --help
check "help: exit 0" 0 "$rc"
case $out in "usage: branch-name "*) ok "help on stdout" ;; *) not_ok "help on stdout" ;; esac

if [ -w /dev/full ]; then
	run sh -c 'branch-name > /dev/full'
	check "write error is an error" 1 "$rc"
else
	ok "write error is an error # SKIP no /dev/full"
fi
finish
