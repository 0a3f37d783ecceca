#!/bin/sh
# dbfs-put -r and symbolic links (dry runs: nothing is sent): a link out
# of the source tree is refused unless -L, naming it; links inside the tree
# are followed; a link loop is an error, not a hang.
. "$(dirname "$0")/lib.sh"
plan 8
# DBFS destinations: an older workspace's (a new one has no DBFS root)
DBMLOPS_WORKSPACE=legacy
export DBMLOPS_WORKSPACE

mkdir -p dist/sub secret
echo wheel > dist/a.whl
echo 'token = dapi-very-secret' > secret/databrickscfg
ln -s ../../secret/databrickscfg dist/sub/cfg
run dbfs-put -n -r dist dbfs:/w/
check "a link out of the tree is refused" 1 "$rc"
case $err in
*"dist/sub/cfg: a symbolic link out of the source tree (to $SCRATCH/secret/databrickscfg): give -L to follow it"*)
	ok "and named, with its target" ;;
*) not_ok "and named, with its target"; echo "# $err" ;;
esac
run dbfs-put -n -r -L dist dbfs:/w/
check "-L follows it" "0 dbfs:/w/a.whl dbfs:/w/sub/cfg" "$rc $(echo $out)"
rm dist/sub/cfg && ln -s ../a.whl dist/sub/inner.whl
run dbfs-put -n -r dist dbfs:/w/
check "a link inside the tree is followed" "0 dbfs:/w/a.whl dbfs:/w/sub/inner.whl" "$rc $(echo $out)"
ln -s .. dist/sub/loop
run timeout 10 dbfs-put -n -r -L dist dbfs:/w/
check "a link loop is an error, not a hang" 1 "$rc"
rm dist/sub/loop
touch "dist/new
line.whl"
run dbfs-put -n -r dist dbfs:/w/
check "a newline in a name is refused before anything is sent" 2 "$rc"
# an a <-> b loop and a dangling link: said as what they are
rm -f "dist/new
line.whl"
ln -s b dist/a && ln -s a dist/b
run dbfs-put -n -r dist dbfs:/w/
check "an a <-> b loop is named a loop" "1 dbfs-put: dist/a: a symbolic link loop (it leads back to itself)" "$rc $err"
rm dist/a dist/b && ln -s nowhere dist/gone
run dbfs-put -n -r dist dbfs:/w/
check "a dangling link is named so" "1 dbfs-put: dist/gone: a symbolic link to nothing" "$rc $err"
finish
