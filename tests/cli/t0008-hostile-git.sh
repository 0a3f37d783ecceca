#!/bin/sh
# branch-name against a .git that is not what it seems: a FIFO where
# packed-refs or HEAD should be (no hang), a -C that does not exist (said
# as such), a config that is a directory, and a HEAD that is no HEAD
# (refused, and in the sanitized build without a leak).
. "$(dirname "$0")/lib.sh"
plan 5

git init -q r && (cd r && git commit -q --allow-empty -m x && git checkout -q -b feature/f)
rm -f r/.git/packed-refs && mkfifo r/.git/packed-refs
run timeout 10 branch-name -C r
check "a FIFO at .git/packed-refs: no hang" "0 feature-f--$(printf %s feature/f | sha256sum | cut -c1-10)" "$rc $out"
run timeout 10 branch-name -C /nonexistent/dir
check "-C a missing directory is said as such" "2 branch-name: -C /nonexistent/dir: No such file or directory" "$rc $(echo "$err" | head -1)"
rm -f r/.git/config && mkdir r/.git/config
run timeout 10 branch-name -C r --json
check "a directory at .git/config: still a name" 0 "$rc"
git init -q s && (cd s && git commit -q --allow-empty -m x)
mv s/.git/HEAD s/.git/HEAD.real && mkfifo s/.git/HEAD
run timeout 10 branch-name -C s
check "a FIFO at .git/HEAD: no hang" 1 "$rc"
mkdir -p junk/.git && echo 'this is not a HEAD' > junk/.git/HEAD
run branch-name -C junk
check "a HEAD that is no HEAD: refused, nothing leaked" "1 branch-name: $(cd junk && pwd -P)/.git/HEAD:1:1: not a git HEAD" "$rc $err"
finish
