#!/bin/sh
# mk/dbmlops.mk: the include is safe and dbmlops-branch writes branch.env.
MK=$(cd "$(dirname "$0")/../.." && pwd)/mk/dbmlops.mk
. "$(dirname "$0")/lib.sh"
plan 11
h=$(printf %s feature/x | sha256sum | cut -c1-10)

cat > Makefile <<EOF
all:
	@echo own-default
include $MK
include $MK
EOF
run make
check "the includer's default goal stays" "own-default" "$out"
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo
check "dbmlops-branch exit 0" 0 "$rc"
. ./.dbmlops/branch.env
check "experiment name" "/Shared/demo/feature-x--$h" "$DBMLOPS_EXPERIMENT_NAME"
check "wheel folder: workspace files" "/Workspace/Shared/wheels/feature-x--$h" \
    "$DBMLOPS_WHEEL_DEST"
rm -rf .dbmlops
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo \
    DBMLOPS_WORKSPACE=legacy
. ./.dbmlops/branch.env
check "legacy workspace: the DBFS root" "dbfs:/wheels/feature-x--$h" \
    "$DBMLOPS_WHEEL_DEST"
rm -rf .dbmlops
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo \
    DBMLOPS_WORKSPACE=legacy DBMLOPS_COMPUTE=serverless
. ./.dbmlops/branch.env
check "legacy workspace, serverless: workspace files" \
    "/Workspace/Shared/wheels/feature-x--$h" "$DBMLOPS_WHEEL_DEST"
rm -rf .dbmlops
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo
touch -d '2000-01-01' .dbmlops/branch.env
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo
check "unchanged branch leaves branch.env alone" "2000" "$(date -r .dbmlops/branch.env +%Y)"
rm -rf .dbmlops
run make -n dbmlops-branch
check "make -n writes nothing" "no" "$(test -e .dbmlops && echo yes || echo no)"
# DBMLOPS_BIN: the tools' directory, with a trailing slash or without
real=$(command -v branch-name)
mkdir -p "tools dir"
printf '#!/bin/sh\necho called >> "%s/called"\nexec "%s" "$@"\n' "$PWD" "$real" \
    > "tools dir/branch-name"
chmod +x "tools dir/branch-name"
for bin in "$PWD/tools dir" "$PWD/tools dir/"; do
	rm -rf .dbmlops called
	run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo DBMLOPS_BIN="$bin"
	case $bin in */) how=with ;; *) how=without ;; esac
	check "DBMLOPS_BIN $how a trailing slash runs the tool there" "0 called" \
	    "$rc $(cat called 2>/dev/null)"
done
rm -rf .dbmlops called
run env DBMLOPS_BRANCH=feature/x make dbmlops-branch DBMLOPS_PROJECT=demo DBMLOPS_BIN="$PWD/nowhere"
check "a DBMLOPS_BIN without the tools fails" "2" "$rc"
finish
