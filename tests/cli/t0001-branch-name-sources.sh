#!/bin/sh
# branch-name: where the branch comes from (override, CI variables, git).
. "$(dirname "$0")/lib.sh"
plan 14

run env GITHUB_HEAD_REF=feature/login GITHUB_REF_NAME=12/merge branch-name --json
check "github PR: head ref wins" 0 "$rc"
case $out in *'"raw":"feature/login"'*'"source":"github:GITHUB_HEAD_REF"'*) ok "github PR raw and source" ;; *) not_ok "github PR raw and source"; echo "# $out" ;; esac

run env BUILD_SOURCEBRANCH=refs/heads/users/ann/fix-1 BUILD_SOURCEBRANCHNAME=fix-1 branch-name --json
case $out in *'"raw":"users/ann/fix-1"'*) ok "azure: full ref, not the last segment" ;; *) not_ok "azure: full ref"; echo "# $out" ;; esac

run env SYSTEM_PULLREQUEST_SOURCEBRANCH=refs/heads/topic BUILD_SOURCEBRANCH=refs/pull/7/merge branch-name
check "azure PR: source branch" "topic" "$out"

run env CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=mr CI_COMMIT_REF_NAME=main branch-name
check "gitlab MR: source branch" "mr" "$out"

run env DBMLOPS_BRANCH=over GITHUB_HEAD_REF=x branch-name
check "override beats CI" "over" "$out"

run branch-name
check "no git, no CI: exit 1" 1 "$rc"
check "no git, no CI: message" "branch-name: no branch found: not in a git repository and no CI branch variable set (set DBMLOPS_BRANCH to name one)" "$err"

git init -q repo && cd repo && git checkout -q -b feature/x &&
    git commit -q --allow-empty -m one && mkdir -p a/b
run branch-name -C a/b
check "git: branch from a subdirectory" "feature-x--$(printf %s feature/x | sha256sum | cut -c1-10)" "$out"

git checkout -q --detach
sha=$(git rev-parse HEAD | cut -c1-12)
run branch-name
check "detached HEAD" "detached-$sha" "$out"
run env GITHUB_HEAD_REF=pr branch-name
check "CI variable beats a detached checkout" "pr" "$out"

git checkout -q feature/x
git worktree add -q -b wt ../wt 2>/dev/null
run branch-name -C ../wt
check "worktree" "wt" "$out"
run env GIT_DIR="$PWD/.git" branch-name -C /
check "GIT_DIR" "feature-x--$(printf %s feature/x | sha256sum | cut -c1-10)" "$out"
run branch-name --json
case $out in *"\"sha\":\"$(git rev-parse HEAD)\""*) ok "json carries the full sha" ;; *) not_ok "json sha"; echo "# $out" ;; esac
finish
