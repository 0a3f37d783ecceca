#!/bin/sh
# make install and uninstall as the GNU standards have them: DESTDIR and
# the directory variables honoured, modes explicit whatever the umask,
# uninstall removing exactly what install put there.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${DBMLOPS_BIN:?}/.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 10
# the build's own flags: a sanitizer build stays one
SAN=$(grep -q fsanitize "$B/flags" 2>/dev/null && echo SANITIZE=1)
M="make -s --no-print-directory -C $TOP B=$B $SAN"

run sh -c "umask 077; $M install DESTDIR=$SCRATCH/root PREFIX=/usr/local"
check "install under umask 077" 0 "$rc"
[ -n "$err" ] && echo "# $err"
modes=$(cd "$SCRATCH/root/usr/local" && stat -c '%a %n' bin/mlflow-submit \
    share/man/man1/dbfs-put.1 share/dbmlops/mk/dbmlops.mk \
    share/dbmlops/cluster/bin/mlflow share/dbmlops share/dbmlops/mk | tr '\n' ' ')
check "modes are 755 for programs and folders, 644 for the rest" \
    "755 bin/mlflow-submit 644 share/man/man1/dbfs-put.1 644 share/dbmlops/mk/dbmlops.mk 755 share/dbmlops/cluster/bin/mlflow 755 share/dbmlops 755 share/dbmlops/mk " "$modes"
run sh -c "$M uninstall DESTDIR=$SCRATCH/root PREFIX=/usr/local"
left=$(cd "$SCRATCH/root/usr/local" && find . -type f | sort | tr '\n' ' ')
check "uninstall removes every file it installed" "" "$left"
test -d "$SCRATCH/root/usr/local/share/dbmlops"
check "and our own folder once empty" 1 "$?"
test -d "$SCRATCH/root/usr/local/bin"
check "but not the shared bin folder" 0 "$?"
empty=$(cd "$SCRATCH/root/usr/local/share" && find bash-completion zsh -type d 2>/dev/null | tr '\n' ' ')
check "nor empty completion folders" "" "$empty"

# DATADIR pointing at a shared directory that holds another package's files
mkdir -p "$SCRATCH/shared/mk" "$SCRATCH/shared/other"
echo keep > "$SCRATCH/shared/other/file"
echo keep > "$SCRATCH/shared/mk/other.mk"
run sh -c "$M install uninstall DESTDIR= PREFIX=$SCRATCH/p DATADIR=$SCRATCH/shared"
check "install and uninstall with DATADIR=a shared folder" 0 "$rc"
kept=$(cd "$SCRATCH/shared" && find . -type f | sort | tr '\n' ' ')
check "another package's files stay" "./mk/other.mk ./other/file " "$kept"
test -x "$SCRATCH/p/bin/branch-name"
check "uninstall took the programs from PREFIX/bin" 1 "$?"
# make help lists the targets the Makefile's header names
run make -s --no-print-directory -C "$TOP" help
check "make help lists check, demo, install and help" "0 4" \
    "$rc $(printf '%s\n' "$out" | grep -c '^make \(check\|demo\|install\|help\) ')"
finish
