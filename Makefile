# dbmlops: see README.md. GNU make.
#
#   make            build lib/libdbmlops.a, every tool and workspace-emu
#   make check      install what the tests need (make deps), build, run every tier
#   make demo       run the main job end to end on the local emulator
#   make bench      side-by-side benchmarks (bench/)
#   make install    PREFIX=/usr/local DESTDIR= (make uninstall the same way)
#   make dist       dbmlops-VERSION.tar.gz and SHA256SUMS in build/dist
#   make deb        also dbmlops_VERSION_ARCH.deb, built from that tarball
#   make deps       Debian packages and the cached Python virtualenv
#   make SANITIZE=1 check   the same under ASan + UBSan
#   make check-sanitize     unit and CLI tiers under ASan, UBSan, LSan
#   make help       this list

# The release, in one place: the VERSION file. The commit comes from git in
# a checkout, or from the COMMIT file that make dist writes into the tarball.
VERSION := $(shell cat VERSION)
COMMIT := $(shell cat COMMIT 2>/dev/null || { [ -e .git ] && \
	git rev-parse --short=12 HEAD 2>/dev/null && \
	{ git diff --quiet HEAD -- 2>/dev/null || echo -dirty; }; } | tr -d '\n')

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/dbmlops
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PYTHON ?= python3

# Flags the build needs whatever CFLAGS the user picks.
# lib/ in layers, each a folder (docs/ARCHITECTURE.md); headers by name
LIB_DIRS = base net upload submit
DBM_CPPFLAGS = -D_XOPEN_SOURCE=700 -Ilib \
	$(LIB_DIRS:%=-Ilib/%)
DBM_LDFLAGS = $(AS_NEEDED)
DBM_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat-security \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -MMD -MP
ifeq ($(SANITIZE),1)
DBM_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
DBM_LDFLAGS += -fsanitize=address,undefined
endif

B = build
TOOLS = branch-name branch-clean dbfs-put wheelpath-subst wheel-label mlflow-submit
EMU = workspace-emu
# workspace-emu's floors: core/ (the server), svc/ (the services), jobs/,
# and in emu/ itself main.c and routes.c, which wire them together.
EMU_DIRS = emu emu/core emu/svc emu/jobs
EMU_INC = $(EMU_DIRS:%=-I%)
EMU_SRC = $(wildcard $(EMU_DIRS:%=%/*.c))
EMU_OBJ = $(EMU_SRC:%.c=$(B)/%.o)
LIB_SRC = $(wildcard lib/*.c lib/*/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_OBJ = $(UNIT_SRC:%.c=$(B)/%.o)
BINS = $(TOOLS:%=$(B)/bin/%) $(EMU:%=$(B)/bin/%)
MAN1 = $(wildcard man/*.1)
# the man pages as installed: their footer names the release
MAN1_OUT = $(MAN1:man/%=$(B)/man/%)

# Targets that must work before the libraries are installed do not read the
# generated configuration (make deps installs them; make check and make demo
# call deps first and then a sub-make). Other goals read it; given with
# deps-sys or deps (`make deps-sys all install`, as CI scripts write it), the
# packages are installed before the configuration is made.
__noconf = deps deps-sys venv check check-sanitize demo clean help dist deb
ifneq ($(filter-out $(__noconf),$(MAKECMDGOALS))$(if $(MAKECMDGOALS),,all),)
include $(B)/config.mk
endif

# shell completion: bash and zsh, with the option parser of both embedded
COMPLETION = $(B)/completion/dbmlops.bash $(B)/completion/_dbmlops

all: $(BINS) $(MAN1_OUT) $(COMPLETION)

$(B)/completion/%: completion/%.in completion/dbmlops.awk
	@mkdir -p $(@D)
	sed -e '/^@OPTS_AWK@$$/{r completion/dbmlops.awk' -e 'd;}' $< > $@.tmp
	@mv $@.tmp $@

$(B)/man/%.1: man/%.1 VERSION
	@mkdir -p $(@D)
	sed '1s/"dbmlops @VERSION@"/"dbmlops $(VERSION)"/' $< > $@.tmp
	@mv $@.tmp $@

# Objects depend on the compiler and flags: changing CC, CFLAGS or SANITIZE
# rebuilds everything.
__flags = $(CC) $(DBM_CPPFLAGS) $(CPPFLAGS) $(DBM_CFLAGS) $(CFLAGS) $(DBM_LDFLAGS) $(LDFLAGS)
$(B)/flags: FORCE
	@mkdir -p $(B)
	@printf '%s\n' '$(subst ','\'',$(__flags))' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:

$(B)/config.mk: scripts/configure.sh | $(filter deps deps-sys,$(MAKECMDGOALS))
	@mkdir -p $(B)
	@CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' PKG_CONFIG='$(PKG_CONFIG)' sh scripts/configure.sh > $@.tmp
	@mv $@.tmp $@

# The cluster launcher travels inside mlflow-submit.
$(B)/gen/launch.h: cluster/launch.py scripts/embed.sh
	@mkdir -p $(@D)
	sh scripts/embed.sh dbm_launcher cluster/launch.py < cluster/launch.py > $@.tmp
	@mv $@.tmp $@
$(B)/lib/submit/jobspec.o: $(B)/gen/launch.h

# The version and commit, in a header only lib/base/version.c reads:
# rewritten when they change, so a commit rebuilds one object.
$(B)/gen/dbm_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define DBM_VERSION "%s"\n#define DBM_COMMIT "%s"\n' \
		'$(VERSION)' '$(COMMIT)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/lib/base/version.o: $(B)/gen/dbm_version.h

$(B)/lib/%.o: lib/%.c $(B)/flags
	@mkdir -p $(@D)
	$(CC) $(DBM_CPPFLAGS) -I$(B)/gen $(CPPFLAGS) $(LIB_CFLAGS) $(DBM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/tools/%.o: tools/%.c $(B)/flags
	@mkdir -p $(@D)
	$(CC) $(DBM_CPPFLAGS) $(CPPFLAGS) $(LIB_CFLAGS) $(DBM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/emu/%.o: emu/%.c $(B)/flags
	@mkdir -p $(@D)
	$(CC) $(DBM_CPPFLAGS) $(EMU_INC) $(CPPFLAGS) $(LIB_CFLAGS) $(MHD_CFLAGS) $(DBM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: tests/unit/%.c $(B)/flags
	@mkdir -p $(@D)
	$(CC) $(DBM_CPPFLAGS) $(EMU_INC) $(CPPFLAGS) $(LIB_CFLAGS) $(MHD_CFLAGS) $(CHECK_CFLAGS) $(DBM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libdbmlops.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(B)/bin/%: $(B)/tools/%.o $(B)/libdbmlops.a
	@mkdir -p $(@D)
	$(CC) $(DBM_LDFLAGS) $(LDFLAGS) -pthread -o $@ $< $(B)/libdbmlops.a $(LIB_LIBS) $(LDLIBS)

$(B)/bin/workspace-emu: $(EMU_OBJ) $(B)/libdbmlops.a
	@mkdir -p $(@D)
	$(CC) $(DBM_LDFLAGS) $(LDFLAGS) -pthread -o $@ $(EMU_OBJ) $(B)/libdbmlops.a \
		$(MHD_LIBS) $(LIB_LIBS) $(LDLIBS)

# The unit runner links the emulator (all but its main) for the suites
# that drive the library against one in process (tests/unit/inproc.c).
EMU_LIB_OBJ = $(filter-out $(B)/emu/main.o,$(EMU_OBJ))
$(B)/check_unit: $(UNIT_OBJ) $(EMU_LIB_OBJ) $(B)/libdbmlops.a
	$(CC) $(DBM_LDFLAGS) $(LDFLAGS) -pthread -o $@ $(UNIT_OBJ) $(EMU_LIB_OBJ) \
		$(B)/libdbmlops.a \
		$(LIB_LIBS) $(MHD_LIBS) $(CHECK_LIBS) $(LDLIBS)

# The test tiers, for a machine that already has the dependencies (and the
# virtualenv, .venv, from make venv). The Python tier runs TEST_JOBS
# pytest-xdist workers (one a core by default), each test file on one
# worker, each worker with one MLflow server for all its emulators.
PYTEST = .venv/bin/python -m pytest
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_FLAGS = -q -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile --durations=20
TEST_ENV = DBMLOPS_BIN=$(CURDIR)/$(B)/bin \
	DBMLOPS_TEST_MAKE_ARGS='B=$(B) SANITIZE=$(SANITIZE)'
test: test-unit test-cli test-py

test-unit: $(B)/check_unit
	CK_DEFAULT_TIMEOUT=60 $(B)/check_unit

test-cli: $(BINS)
	DBMLOPS_BIN=$(CURDIR)/$(B)/bin TEST_CC='$(CC)' \
	TEST_CPPFLAGS='$(LIB_CFLAGS) $(MHD_CFLAGS)' \
	prove -f -e sh tests/cli/t[0-9]*.sh

test-py: $(BINS)
	$(TEST_ENV) $(PYTEST) $(PYTEST_FLAGS) tests/conformance tests/integration

# The Python tier against the sanitized build (B=build-san SANITIZE=1):
# the tests that drive C code paths no other test drives; those marked
# `once` (their C paths are driven by other tests as well: the demo, the
# README's install and adoption, MLflow's own client) run in test-py only.
test-py-san: $(BINS)
	$(TEST_ENV) $(PYTEST) $(PYTEST_FLAGS) -m 'not once' tests/conformance tests/integration

check:
	@sh scripts/deps-sys.sh --check
	@$(MAKE) --no-print-directory venv
	@$(MAKE) --no-print-directory all test

# The unit and command-line tiers again, built with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (in build-san; .ci/run
# runs it after make check).
check-sanitize:
	@$(MAKE) --no-print-directory deps-sys
	@$(MAKE) --no-print-directory SANITIZE=1 B=build-san all test-unit test-cli

deps: deps-sys venv

deps-sys:
	@sh scripts/deps-sys.sh

venv:
	@PYTHON='$(PYTHON)' sh scripts/venv.sh >/dev/null

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@DBMLOPS_DEMO_BIN='$(CURDIR)/$(B)/bin' DBMLOPS_DEMO_STATE='$(CURDIR)/$(B)/demo' \
		sh scripts/demo.sh

bench: $(BINS)
	sh bench/run.sh

# Fuzzing (not part of check; .ci/run runs it briefly on every change):
#   make fuzz FUZZ_SECONDS=60
# With clang and its runtime, libFuzzer (coverage-guided); else gcc and
# tests/fuzz/driver.c (corpus, then seeded mutations). Both under ASan and UBSan. Targets: the
# JSON reader, wheelpath-subst's engine, the MLproject reader, what
# workspace-emu does with a request's path and JSON body, and request bodies
# sent to a whole emulator in the fuzzer's process (dbfs/put uploads, parts
# of multipart uploads, the MLflow proxy's public routes, model versions).
FUZZ_SECONDS ?= 30
FUZZ_SEED ?=
FUZZ_TARGETS = json subst mlproject request multipart
# (probed once, when make fuzz first asks)
FUZZ_CLANG = $(eval FUZZ_CLANG := $(shell echo 'int LLVMFuzzerTestOneInput(const char *p, long n) { return 0; }' | \
	clang -fsanitize=fuzzer,address,undefined -x c -o /dev/null - >/dev/null 2>&1 && echo 1))$(FUZZ_CLANG)
__fuzz_srcs = tests/fuzz/fuzz_$(1).c $(LIB_SRC) $(if $(filter request multipart,$(1)),\
	$(EMU_INC) -Itests/unit $(filter-out emu/main.c,$(EMU_SRC)) \
	$(if $(filter multipart,$(1)),tests/unit/inproc.c) $(MHD_CFLAGS) $(MHD_LIBS))
fuzz: $(B)/config.mk $(B)/gen/launch.h $(B)/gen/dbm_version.h
	@mkdir -p $(B)/fuzz
	@set -e; $(foreach t,$(FUZZ_TARGETS),\
		$(if $(FUZZ_CLANG),clang -fsanitize=fuzzer,$(CC) tests/fuzz/driver.c) \
		    $(DBM_CPPFLAGS) -Ilib -I$(B)/gen $(LIB_CFLAGS) -g -O1 -pthread \
		    -fsanitize=address,undefined -fno-sanitize-recover=all \
		    -fno-omit-frame-pointer \
		    -o $(B)/fuzz/$(t) $(call __fuzz_srcs,$(t)) $(LIB_LIBS) -lpthread; \
		mkdir -p $(B)/fuzz/corpus-$(t); \
		$(B)/fuzz/$(t) -max_total_time=$(FUZZ_SECONDS) \
		    $(if $(FUZZ_SEED),-seed=$(FUZZ_SEED)) \
		    $(if $(FUZZ_CLANG),$(B)/fuzz/corpus-$(t)) tests/fuzz/corpus/$(t);)

# GNU standards: DESTDIR, PREFIX, BINDIR, MANDIR, DATADIR; install(1) with
# explicit modes, whatever the umask. uninstall removes what install put
# there, then the directories of ours that are left empty.
INSTALL ?= install
SHARE_FILES = mk/dbmlops.mk emu/cluster/dbmlops_cluster.py \
	emu/cluster/bin/mlflow
__share_dest = $(DESTDIR)$(DATADIR)/$(patsubst emu/%,%,$(1))
install: all
	$(INSTALL) -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(DATADIR)/mk $(DESTDIR)$(DATADIR)/cluster/bin \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(MAN1_OUT) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 mk/dbmlops.mk $(DESTDIR)$(DATADIR)/mk/
	$(INSTALL) -m 644 emu/cluster/dbmlops_cluster.py $(DESTDIR)$(DATADIR)/cluster/
	$(INSTALL) -m 755 emu/cluster/bin/mlflow $(DESTDIR)$(DATADIR)/cluster/bin/
	@# bash-completion loads completions/<command>: one copy a command
	for t in $(TOOLS) $(EMU); do $(INSTALL) -m 644 \
		$(B)/completion/dbmlops.bash $(DESTDIR)$(BASHCOMPDIR)/$$t || exit; done
	$(INSTALL) -m 644 $(B)/completion/_dbmlops $(DESTDIR)$(ZSHCOMPDIR)/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(EMU:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%)
	rm -f $(foreach f,$(SHARE_FILES),$(call __share_dest,$(f)))
	rm -f $(TOOLS:%=$(DESTDIR)$(BASHCOMPDIR)/%) $(EMU:%=$(DESTDIR)$(BASHCOMPDIR)/%) \
		$(DESTDIR)$(ZSHCOMPDIR)/_dbmlops
	@for d in cluster/bin cluster mk; do \
		rmdir '$(DESTDIR)$(DATADIR)'/$$d 2>/dev/null || :; done
	@case '$(DATADIR)' in */dbmlops) \
		rmdir '$(DESTDIR)$(DATADIR)' 2>/dev/null || : ;; esac
	@# the completion folders, and their parents, once empty (bin and
	@# man1 are everyone's, and stay)
	@for d in '$(DESTDIR)$(BASHCOMPDIR)' '$(DESTDIR)$(ZSHCOMPDIR)'; do \
		rmdir "$$d" 2>/dev/null && rmdir "$${d%/*}" 2>/dev/null; :; done

# Releases, into $(B)/dist: the tarball of HEAD (reproducible, with its
# COMMIT), the Debian package built from it, and their SHA256SUMS.
DIST = $(B)/dist
__sums = cd $(DIST) && sha256sum $$(ls dbmlops-$(VERSION).tar.gz \
	dbmlops_$(VERSION)_*.deb 2>/dev/null) > SHA256SUMS.tmp && \
	mv SHA256SUMS.tmp SHA256SUMS
dist:
	@sh scripts/dist.sh $(DIST)
	@$(__sums)
deb: dist
	@sh scripts/deb.sh $(DIST)
	@$(__sums)

clean:
	rm -rf $(B)

help:
	@sed -n '3,/^$$/s/^#   //p' Makefile

.PHONY: FORCE all help test test-unit test-cli test-py test-py-san check check-sanitize deps deps-sys venv demo bench fuzz \
	install uninstall clean dist deb

-include $(LIB_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(EMU_OBJ:.o=.d) $(TOOLS:%=$(B)/tools/%.d)
.SECONDARY:
