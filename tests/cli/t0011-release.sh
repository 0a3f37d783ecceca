#!/bin/sh
# The release: make dist gives the same bytes twice; the tarball builds and
# installs with no git checkout; make deb gives a lintian-clean package with
# every tool, man page, completion and the make include, which installs and
# purges cleanly in a throwaway dpkg root; the completions load in bash and
# zsh and complete options and profiles.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/cli/lib.sh"
plan 14
v=$(cat "$TOP/VERSION")
# make dist is made from git: in a release tarball (the package's own
# tests) there is nothing to check
if [ ! -e "$TOP/.git" ]; then
	for i in $(seq 14); do ok "# skip not a git checkout"; done
	finish
	exit
fi
# HOME is the scratch folder: git needs to trust the checkout
git config --global --add safe.directory "$TOP"

run sh "$TOP/scripts/dist.sh" "$SCRATCH/d1"
check "make dist" 0 "$rc"
sh "$TOP/scripts/dist.sh" "$SCRATCH/d2" >/dev/null 2>&1
cmp -s "$SCRATCH/d1/dbmlops-$v.tar.gz" "$SCRATCH/d2/dbmlops-$v.tar.gz"
check "make dist twice gives the same bytes" 0 "$?"
owners=$(tar -tvzf "$SCRATCH/d1/dbmlops-$v.tar.gz" | awk '{print $2}' | sort -u | tr '\n' ' ')
check "every entry is root's" "root/root " "$owners"

# the tarball alone: unpacked in an empty folder, no .git anywhere above
mkdir "$SCRATCH/empty"
tar -xzf "$SCRATCH/d1/dbmlops-$v.tar.gz" -C "$SCRATCH/empty"
src=$SCRATCH/empty/dbmlops-$v
run sh -c "cd '$src' && GIT_DIR=/nonexistent make -s -j2 all install \
    PREFIX=/usr DESTDIR='$SCRATCH/inst' >/dev/null 2>&1"
check "the tarball builds and installs on its own" 0 "$rc"
commit=$(cat "$src/COMMIT")
run "$SCRATCH/inst/usr/bin/dbfs-put" --version
check "its tools name the release and the commit" "dbfs-put $v (commit $commit)" "$out"

# bash: the installed completion, as bash-completion would load it
cat > "$SCRATCH/cfg" <<'EOT'
[DEFAULT]
host = https://x
[dev]
 [prod-eu]
EOT
comp() {
	DATABRICKS_CONFIG_FILE=$SCRATCH/cfg bash -c '
	. "$1"
	COMP_LINE=$2 COMP_POINT=${#2}
	read -ra COMP_WORDS <<< "$2"
	[[ $2 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_dbmlops "${COMP_WORDS[0]}"
	echo "${COMPREPLY[*]}"' sh \
	    "$SCRATCH/inst/usr/share/bash-completion/completions/$3" "$1 $2"
}
check "bash completes options from --help" "--profile --print" "$(comp dbfs-put --pr dbfs-put)"
check "bash completes profiles" "DEFAULT dev prod-eu" "$(comp mlflow-submit '-p ' mlflow-submit)"
check "bash completes a|b choices" "auto" "$(comp mlflow-submit '--mode a' mlflow-submit)"

# zsh: a real interactive shell through zpty, TAB pressed
if command -v zsh >/dev/null 2>&1; then
	mkdir "$SCRATCH/zc"
	cp "$SCRATCH/inst/usr/share/zsh/site-functions/_dbmlops" "$SCRATCH/zc/"
	cat > "$SCRATCH/z.zsh" <<'EOT'
zmodload zsh/zpty
zpty -b z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; print READY"
zpty -r z line '*READY*'
zpty -w -n z $'dbfs-put --print \t'
sleep 2
out=
while zpty -r -t z chunk; do out+=$chunk; done
zpty -d z
print -r -- "$out"
EOT
	zout=$(PATH="$SCRATCH/inst/usr/bin:$PATH" zsh -f "$SCRATCH/z.zsh" "$SCRATCH/zc" | tr -d '\r')
	case $zout in *"fuse  uri"*) ok "zsh completes --print to fuse and uri" ;;
	*) not_ok "zsh completion"; printf '%s\n' "$zout" | tail -3 | cat -v | sed 's/^/# /' ;; esac
else
	ok "# skip zsh is not installed"
fi

if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v dh >/dev/null 2>&1; then
	for i in 1 2 3 4 5; do ok "# skip dpkg-dev and debhelper are not installed"; done
	finish
	exit
fi
run env DEB_BUILD_OPTIONS=nocheck sh "$TOP/scripts/deb.sh" "$SCRATCH/d1"
check "make deb" 0 "$rc"
[ "$rc" = 0 ] || echo "# $err" | tail -5
deb=$(ls "$SCRATCH/d1"/dbmlops_"$v"_*.deb 2>/dev/null)
want="./usr/bin/branch-clean ./usr/bin/branch-name ./usr/bin/dbfs-put ./usr/bin/mlflow-submit \
./usr/bin/wheel-label ./usr/bin/wheelpath-subst ./usr/bin/workspace-emu \
./usr/share/bash-completion/completions/dbfs-put \
./usr/share/dbmlops/mk/dbmlops.mk ./usr/share/man/man1/branch-clean.1.gz ./usr/share/man/man1/branch-name.1.gz \
./usr/share/man/man1/dbfs-put.1.gz ./usr/share/man/man1/mlflow-submit.1.gz \
./usr/share/man/man1/wheel-label.1.gz ./usr/share/man/man1/wheelpath-subst.1.gz \
./usr/share/man/man1/workspace-emu.1.gz ./usr/share/zsh/vendor-completions/_dbmlops"
has=$(dpkg-deb -c "$deb" | awk '{print $6}')
missing=
for f in $want; do
	printf '%s\n' "$has" | grep -qx "$f" || missing="$missing $f"
done
check "the package holds every tool, man page, completion and the include" "" "$missing"
if command -v lintian >/dev/null 2>&1; then
	run lintian --fail-on error,warning "$deb"
	check "lintian finds no error or warning" 0 "$rc"
	[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
else
	ok "# skip lintian is not installed"
fi
# a throwaway dpkg root: install, then purge, and nothing is left
R=$SCRATCH/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: > "$R/var/lib/dpkg/status"
run dpkg --root="$R" --force-depends --force-not-root --force-bad-path -i "$deb"
check "dpkg installs it" "0 1" "$rc $(test -x "$R/usr/bin/mlflow-submit" && echo 1)"
dpkg --root="$R" --force-depends --force-not-root --force-bad-path -P dbmlops >/dev/null 2>&1
left=$(cd "$R" && find . ! -path './var/lib/dpkg*' ! -type d | sort | tr '\n' ' ')
check "and purging it leaves nothing behind" "" "$left"
finish
