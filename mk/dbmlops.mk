# dbmlops.mk: make targets that take a branch to a run on Databricks.
#
# Usage, in a project's Makefile (after setting any DBMLOPS_* knob):
#
#     include /usr/local/share/dbmlops/mk/dbmlops.mk
#     train: dbmlops-run
#
# Targets (all namespaced; none becomes your default goal):
#     dbmlops-branch  $(DBMLOPS_STATE)/branch.env: branch slug, experiment
#                     name, wheel folder (rewritten only when they change)
#     dbmlops-wheel   build the wheels of DBMLOPS_WHEEL_SRC into
#                     $(DBMLOPS_STATE)/dist, when their sources changed
#     dbmlops-upload  dbfs-put -c the wheels: $(DBMLOPS_STATE)/upload.json;
#                     unchanged wheels are neither rebuilt nor sent again
#     dbmlops-subst   a copy of the MLflow project in
#                     $(DBMLOPS_STATE)/project with the wheel paths in its
#                     conda.yaml and cluster.json (the originals keep their
#                     placeholders)
#     dbmlops-submit  mlflow-submit that copy and wait; the exit status is
#                     the run's outcome (SIGINT or SIGTERM to make cancels
#                     the run)
#     dbmlops-run     all of the above
#     dbmlops-clean   remove what the branch left (DBMLOPS_BRANCH=<name>
#                     for another): its wheel folders, its experiments
#                     and their project code, but what an active run
#                     uses; make -n dbmlops-clean says what would go
#
# Several MLflow projects of one repository (after the include):
#     $(eval $(call dbmlops_project,NAME,DIR))
# gives dbmlops-subst-NAME, dbmlops-submit-NAME and dbmlops-run-NAME for
# the project in DIR, with the knobs NAME_ENTRY, NAME_PARAMS,
# NAME_CLUSTER, NAME_COMPUTE, NAME_SUBST_FILES, NAME_SUBMIT_FLAGS (the
# DBMLOPS_ ones by default) and NAME_EXPERIMENT (DBMLOPS_EXPERIMENT-NAME).
# {experiment:OTHER} (in NAME_PARAMS, NAME_ENTRY and NAME_EXPERIMENT) is
# project OTHER's experiment, and {run:OTHER} (in NAME_PARAMS and
# NAME_ENTRY) the MLflow run id of its newest finished run on the branch
# (mlflow-submit --last-run).
#
# Knobs (set before the include, in the environment or on the command line):
#     DBMLOPS_BIN          directory of the tools ('' = PATH)
#     DBMLOPS_STATE        state and stamps                      (.dbmlops)
#     DBMLOPS_PROJECT      the {project} of the templates (repository name)
#     DBMLOPS_COMPUTE      where the project runs: new-cluster (a job
#                          cluster of DBMLOPS_CLUSTER's spec), serverless
#                          (serverless compute; wheels go to workspace
#                          files), or cluster:<id> (an all-purpose cluster,
#                          started when terminated)          (new-cluster)
#     DBMLOPS_EXPERIMENT   experiment template      (/Shared/{project}/{branch})
#     DBMLOPS_WORKSPACE    new (an account's workspace of today: no DBFS
#                          root, runtimes from 13.3 LTS) or legacy (one
#                          that still has them)                  (new)
#     DBMLOPS_WHEEL_DIR    wheel folder template (workspace files, which
#                          runtimes from 13.3 LTS and serverless install
#                          from: /Workspace/Shared/wheels/{branch}; with
#                          DBMLOPS_WORKSPACE=legacy on a cluster, the DBFS
#                          root: dbfs:/wheels/{branch}); a volume's folder
#                          such as /Volumes/main/ml/wheels/{branch} works
#                          too
#     DBMLOPS_WHEEL_SRC    Python package folder(s) to build: one folder
#                          (its path may hold spaces), or a list of
#                          folders and globs such as libs/*; each is built
#                          into one wheel, all are uploaded together and
#                          WHEELPATH:<distribution> picks each      (.)
#     DBMLOPS_PYTHON       python that builds them: it needs pip (the
#                          build backend comes from the package's
#                          build-system.requires)               (python3)
#     DBMLOPS_BUILD_ISOLATION  on: pip's isolated PEP 517 build, which
#                          installs build-system.requires from the package
#                          index; off: build with what DBMLOPS_PYTHON has
#                          installed, for machines without an index  (on)
#     DBMLOPS_WHEEL_LABEL  on: each wheel's version gets a label of its
#                          content (1.0+g<12 hex>, wheel-label(1)), so a
#                          changed build is a new version a cluster
#                          installs and an unchanged one the same bytes;
#                          off: for versions that change on every build (on)
#     DBMLOPS_MLPROJECT    MLflow project directory; . (the repository's
#                          root) copies all but .git and the state (.)
#     DBMLOPS_CLUSTER      backend config, in the project       (cluster.json)
#     DBMLOPS_CLUSTER_ID   the same as DBMLOPS_COMPUTE=cluster:<id>  ()
#                          (on an existing cluster or serverless, the
#                          project's env file carries the wheel)
#     DBMLOPS_SUBST_FILES  files of the project to substitute: by default
#                          the env file its MLproject names (conda_env or
#                          python_env; else python_env.yaml or conda.yaml)
#                          and DBMLOPS_CLUSTER (when it exists, on other
#                          compute than new-cluster)
#     DBMLOPS_ENTRY        entry point                          (main)
#     DBMLOPS_PARAMS       parameters, name=value ...           ()
#     DBMLOPS_SUBMIT_FLAGS more mlflow-submit flags             ()
#     DBMLOPS_UPLOAD_FLAGS more dbfs-put flags                  ()
#     DBMLOPS_KEEP         dbmlops-clean of a live branch: keep the N
#                          newest wheel folders and the experiments ()
#     DBMLOPS_CLEAN_MIN_AGE  dbmlops-clean keeps what is younger (s) (900)
#     DBMLOPS_CLEAN_FLAGS  more branch-clean flags              ()
#
# Every tool's exit status is kept in $(DBMLOPS_STATE)/exit-status, so a
# CI step can exit with it rather than with make's 2 (77 authentication,
# 1 run failed, 3 timed out, ...: see the tools' man pages).
#
# Every knob is stripped of surrounding white space (a trailing # comment
# on the line leaves some). Paths may hold spaces, except DBMLOPS_STATE.
# Wheels are reproducible: built with SOURCE_DATE_EPOCH set to the time of
# the last commit that touched their sources, so the same sources give the
# same bytes on any checkout, and content addressing uploads nothing new.
# The state folder ignores itself in git.
#
# Credentials come from the environment or ~/.databrickscfg, as for the
# Databricks clients. Nothing here runs at parse time but a find(1) of the
# wheel's and the project's files; make -n shows every command and runs
# none.

ifndef __dbmlops_included
__dbmlops_included := 1
__dbmlops_dir := $(dir $(lastword $(MAKEFILE_LIST)))

DBMLOPS_BIN ?=
# the directory with a trailing slash, given with one or without (the
# value itself is used as it is: spaces in it are kept)
__dbmlops_tools = $(if $(DBMLOPS_BIN),$(DBMLOPS_BIN)$(if $(filter %/,$(lastword \
	$(DBMLOPS_BIN))),,/))
DBMLOPS_STATE ?= .dbmlops
DBMLOPS_COMPUTE ?= new-cluster
DBMLOPS_EXPERIMENT ?= /Shared/{project}/{branch}
DBMLOPS_WORKSPACE ?= new
DBMLOPS_WHEEL_DIR ?= $(if $(and $(filter legacy,$(strip $(DBMLOPS_WORKSPACE))),\
	$(filter-out serverless,$(strip $(DBMLOPS_COMPUTE)))),dbfs:/wheels/{branch},\
	/Workspace/Shared/wheels/{branch})
DBMLOPS_WHEEL_SRC ?= .
DBMLOPS_PYTHON ?= python3
DBMLOPS_BUILD_ISOLATION ?= on
DBMLOPS_WHEEL_LABEL ?= on
DBMLOPS_MLPROJECT ?= .
DBMLOPS_SUBST_FILES ?=
DBMLOPS_CLUSTER ?= cluster.json
DBMLOPS_CLUSTER_ID ?=
DBMLOPS_ENTRY ?= main
DBMLOPS_PARAMS ?=
DBMLOPS_SUBMIT_FLAGS ?=
DBMLOPS_UPLOAD_FLAGS ?=
DBMLOPS_KEEP ?=
DBMLOPS_CLEAN_MIN_AGE ?= 900
DBMLOPS_CLEAN_FLAGS ?=

__dbmlops_knobs = BIN STATE PROJECT COMPUTE WORKSPACE EXPERIMENT WHEEL_DIR WHEEL_SRC \
	PYTHON BUILD_ISOLATION WHEEL_LABEL MLPROJECT SUBST_FILES CLUSTER CLUSTER_ID ENTRY PARAMS \
	SUBMIT_FLAGS UPLOAD_FLAGS KEEP CLEAN_MIN_AGE CLEAN_FLAGS
$(foreach k,$(__dbmlops_knobs),$(eval override DBMLOPS_$(k) := \
	$$(strip $$(DBMLOPS_$(k)))))
__dbmlops_empty :=
__dbmlops_space := $(__dbmlops_empty) $(__dbmlops_empty)
ifneq ($(words $(DBMLOPS_STATE)),1)
$(error DBMLOPS_STATE '$(DBMLOPS_STATE)': the state folder's path cannot hold spaces (make targets cannot))
endif
ifeq ($(DBMLOPS_MLPROJECT),)
$(error DBMLOPS_MLPROJECT is empty: name the MLflow project's directory)
endif
ifeq ($(filter on off,$(DBMLOPS_BUILD_ISOLATION)),)
$(error DBMLOPS_BUILD_ISOLATION '$(DBMLOPS_BUILD_ISOLATION)': give on or off)
endif
ifeq ($(filter on off,$(DBMLOPS_WHEEL_LABEL)),)
$(error DBMLOPS_WHEEL_LABEL '$(DBMLOPS_WHEEL_LABEL)': give on or off)
endif
ifneq ($(DBMLOPS_CLUSTER_ID),)
override DBMLOPS_COMPUTE := cluster:$(DBMLOPS_CLUSTER_ID)
endif
# the compute: new-cluster, serverless or cluster:<id>
__dbmlops_cluster_id = $(patsubst cluster:%,%,$(filter cluster:%,$(DBMLOPS_COMPUTE)))
ifeq ($(filter new-cluster serverless,$(DBMLOPS_COMPUTE))$(__dbmlops_cluster_id),)
$(error DBMLOPS_COMPUTE '$(DBMLOPS_COMPUTE)': give new-cluster, serverless or cluster:<cluster-id>)
endif

# A path as a make prerequisite: spaces escaped.
__dbmlops_esc = $(subst $(__dbmlops_space),\$(__dbmlops_space),$(1))
# The package folders as shell words: the whole value when it is one
# folder (spaces and all), else each word as a folder or a glob of them.
__dbmlops_wheel_args := $(if $(and $(word 2,$(DBMLOPS_WHEEL_SRC)),$(wildcard \
	$(call __dbmlops_esc,$(DBMLOPS_WHEEL_SRC))/.)),'$(DBMLOPS_WHEEL_SRC)',$(foreach \
	w,$(DBMLOPS_WHEEL_SRC),$(foreach d,$(or $(patsubst %/.,%,$(sort $(wildcard \
	$(w)/.))),$(error DBMLOPS_WHEEL_SRC '$(w)': no such folder)),'$(d)')))
# Run a tool so that SIGINT, SIGTERM and SIGHUP reach it (make signals the
# recipe's shell, which alone would die and leave the tool running: a run
# never cancelled), and keep its exit status in $(DBMLOPS_STATE)/exit-status.
__dbmlops_exec = __dbm_exec() { "$$@" & __dbm_p=$$!; \
	trap 'kill -TERM $$__dbm_p 2>/dev/null' INT TERM HUP; \
	while wait $$__dbm_p; __dbm_s=$$?; kill -0 $$__dbm_p 2>/dev/null; do :; done; \
	trap - INT TERM HUP; echo $$__dbm_s > '$(abspath $(DBMLOPS_STATE))/exit-status'; \
	return $$__dbm_s; } && __dbm_exec
# Sets ex to the state folder's path inside folder $(1) (./.dbmlops), or
# to nothing when it is elsewhere: what a copy of $(1) leaves out.
__dbmlops_state_in = st=$$(cd '$(DBMLOPS_STATE)' && pwd -P) && \
	top=$$(cd "$(1)" && pwd -P) && case "$$st/" in "$$top"/*) \
	ex="./$${st\#"$$top"/}";; *) ex=;; esac
# Copy folder $(1) into folder $(2) without .git, the state folder and the
# tar --exclude options $(3).
__dbmlops_copy = $(call __dbmlops_state_in,$(1)) && tar -C "$(1)" \
	$${ex:+"--exclude=$$ex"} --exclude=./.git $(3) -cf - . | tar -C "$(2)" -xf -
__dbmlops_project = $(if $(DBMLOPS_PROJECT),--project '$(DBMLOPS_PROJECT)')
__dbmlops_env = . '$(DBMLOPS_STATE)/branch.env' && \
	DBMLOPS_WORKSPACE='$(DBMLOPS_WORKSPACE)' && export DBMLOPS_WORKSPACE
# find(1) output as prerequisites: one a line, spaces escaped
__dbmlops_find = $(shell find $(1) 2>/dev/null | sed 's/ /\\ /g')
__dbmlops_wheel_srcs = $(call __dbmlops_find,$(__dbmlops_wheel_args) \
	\( -name .git -o -name build -o -name dist -o -name '*.egg-info' \
	-o -name __pycache__ -o -path '*/$(DBMLOPS_STATE)' \) -prune -o \
	-type f \( -name '*.py' -o -name pyproject.toml -o -name setup.cfg \
	-o -name setup.py -o -name MANIFEST.in \) -print)
__dbmlops_find_project = $(call __dbmlops_find,'$(strip $(1))' \
	\( -name mlruns -o -name .git -o -name __pycache__ \
	-o -path '*/$(DBMLOPS_STATE)' \) -prune -o -type f -print)
__dbmlops_mlproject_files = $(call __dbmlops_find_project,$(DBMLOPS_MLPROJECT))

# The state folder, ignored by git from the start.
$(DBMLOPS_STATE)/.gitignore:
	@mkdir -p '$(DBMLOPS_STATE)'
	@echo '*' > '$@'

# The branch can change without any file changing, so this always runs;
# branch.env is rewritten only when its content differs, so what depends on
# it is rebuilt only then.
__dbmlops_branch_cmd = $(__dbmlops_exec) '$(__dbmlops_tools)branch-name' --export \
	$(__dbmlops_project) -F 'DBMLOPS_EXPERIMENT_NAME=$(DBMLOPS_EXPERIMENT)' \
	$(foreach n,$(__dbmlops_projects),-F \
	'DBMLOPS_EXPERIMENT_NAME_$(n)=$(call __dbmlops_exp_template,$(n))') \
	-F 'DBMLOPS_WHEEL_DEST=$(DBMLOPS_WHEEL_DIR)'
$(DBMLOPS_STATE)/branch.env: __dbmlops_force | $(DBMLOPS_STATE)/.gitignore
	@$(__dbmlops_branch_cmd) > '$@.tmp'
	@if cmp -s '$@.tmp' '$@'; then rm -f '$@.tmp'; else mv '$@.tmp' '$@'; fi

dbmlops-branch: $(DBMLOPS_STATE)/branch.env
	@sed -n 's/^\(DBMLOPS_[A-Z_]*\)=\(.*\); export.*/\1=\2/p' '$<'

# Built from a copy: setuptools writes build/ and *.egg-info next to the
# sources it builds, and those must not land in the project's tree. The
# wheel's timestamps come from git (the last commit touching its sources;
# 1980-01-01, the zip format's epoch, outside git), so two checkouts of a
# commit build the same bytes; the bytes follow the content either way.
# With isolation (the default) pip builds in a fresh environment with the
# package's build-system.requires (hatchling, a setuptools with
# bdist_wheel, ...), as `python -m build` does. Then each wheel's version
# gets a label of its content (DBMLOPS_WHEEL_LABEL): a rebuilt 1.0 with
# other code would not replace the 1.0 an all-purpose cluster has.
$(DBMLOPS_STATE)/wheel.stamp: $(__dbmlops_wheel_srcs) | $(DBMLOPS_STATE)/.gitignore
	rm -rf '$(DBMLOPS_STATE)/dist' '$(DBMLOPS_STATE)/wheel-src'
	mkdir -p '$(DBMLOPS_STATE)/dist'
	@n=0; for d in $(__dbmlops_wheel_args); do n=$$((n + 1)); \
	    w='$(abspath $(DBMLOPS_STATE))/wheel-src/'$$n; \
	    { mkdir -p "$$w" && $(call __dbmlops_copy,$$d,$$w,--exclude=./build \
	    --exclude=./dist --exclude='*.egg-info'); } || exit 1; \
	    epoch=$$(git -C "$$d" log -1 --format=%ct -- . 2>/dev/null); \
	    echo "pip wheel $$d"; SOURCE_DATE_EPOCH=$${epoch:-315532800} \
	    PYTHONHASHSEED=0 $(DBMLOPS_PYTHON) -m pip wheel -q --no-deps \
	    $(if $(filter off,$(DBMLOPS_BUILD_ISOLATION)),--no-build-isolation) \
	    -w '$(DBMLOPS_STATE)/dist' "$$w" || exit 1; done
	$(if $(filter off,$(DBMLOPS_WHEEL_LABEL)),,'$(__dbmlops_tools)wheel-label' \
	    -r '$(DBMLOPS_STATE)'/dist/*.whl)
	@touch '$@'

dbmlops-wheel: $(DBMLOPS_STATE)/wheel.stamp

# Content-addressed: the same wheel is never sent twice, a new one gets a
# new path (clusters cache libraries by path).
$(DBMLOPS_STATE)/upload.json: $(DBMLOPS_STATE)/wheel.stamp \
    $(DBMLOPS_STATE)/branch.env
	$(__dbmlops_env) && $(__dbmlops_exec) '$(__dbmlops_tools)dbfs-put' -c --json \
	    $(DBMLOPS_UPLOAD_FLAGS) '$(DBMLOPS_STATE)'/dist/*.whl \
	    "$$DBMLOPS_WHEEL_DEST/" > '$@.tmp'
	@mv '$@.tmp' '$@'

dbmlops-upload: $(DBMLOPS_STATE)/upload.json

# A knob of project $(1) ($(1)_$(2)), or the single project's
# (DBMLOPS_$(2)) when $(1) is empty.
__dbmlops_v = $(strip $(if $(1),$($(1)_$(2)),$(DBMLOPS_$(2))))
# Where the copy of project $(1) goes.
__dbmlops_pdir = $(DBMLOPS_STATE)/$(if $(1),$(1)/)project
# The files to substitute follow the project: by default the env file its
# MLproject names (wheelpath-subst --project) and the cluster config.
__dbmlops_subst_args = $(if $(call __dbmlops_v,$(1),SUBST_FILES),$(foreach \
	f,$(call __dbmlops_v,$(1),SUBST_FILES),'$(f)'),--project . $(if $(or \
	$(filter new-cluster,$(call __dbmlops_v,$(1),COMPUTE)),$(wildcard \
	$(call __dbmlops_esc,$(call __dbmlops_v,$(1),MLPROJECT)/$(call \
	__dbmlops_v,$(1),CLUSTER)))),'$(call __dbmlops_v,$(1),CLUSTER)'))
# mlflow-submit's compute options for project $(1)
__dbmlops_compute = $(foreach c,$(call __dbmlops_v,$(1),COMPUTE),$(if \
	$(filter cluster:%,$(c)),--cluster-id '$(patsubst cluster:%,%,$(c))' --start-cluster,$(if \
	$(filter serverless,$(c)),--serverless,$(if $(filter new-cluster,$(c)),-c \
	'$(call __dbmlops_pdir,$(1))/$(call __dbmlops_v,$(1),CLUSTER)',$(error \
	$(1)_COMPUTE '$(c)': give new-cluster, serverless or cluster:<cluster-id>)))))
# The tools' directory, absolute (recipes cd elsewhere), or '' for PATH.
__dbmlops_bin = $$(if [ -n '$(__dbmlops_tools)' ]; then \
	cd '$(__dbmlops_tools)' && pwd && echo /; fi | tr -d '\n')

# {experiment:NAME} and {run:NAME} in a knob's text $(1): as shell words
# inside single quotes, NAME's experiment (from branch.env) and the id of
# its newest finished run (looked up by the submit recipe).
__dbmlops_refs = $(call __dbmlops_refs_of,$(1),$(__dbmlops_projects))
__dbmlops_refs_of = $(if $(2),$(call __dbmlops_refs_of,$(subst \
	{experiment:$(firstword $(2))},'"$$DBMLOPS_EXPERIMENT_NAME_$(firstword \
	$(2))"',$(subst {run:$(firstword $(2))},'"$$__dbm_run_$(firstword \
	$(2))"',$(1))),$(wordlist 2,$(words $(2)),$(2))),$(if $(findstring \
	{run:,$(1))$(findstring {experiment:,$(1)),$(error '$(1)': {run:NAME} \
	and {experiment:NAME} name a project declared with dbmlops_project \
	(declared: $(or $(__dbmlops_projects),none))),$(1)))
# The projects whose {run:NAME} the knobs of project $(1) name.
__dbmlops_run_refs = $(foreach n,$(__dbmlops_projects),$(if $(findstring \
	{run:$(n)},$(call __dbmlops_v,$(1),PARAMS) $(call \
	__dbmlops_v,$(1),ENTRY)),$(n)))
# Project $(1)'s experiment template, {experiment:NAME} replaced by NAME's.
__dbmlops_exp_template = $(call __dbmlops_exp_of,$(call \
	__dbmlops_v,$(1),EXPERIMENT),$(__dbmlops_projects))
__dbmlops_exp_of = $(if $(2),$(call __dbmlops_exp_of,$(subst \
	{experiment:$(firstword $(2))},$(call __dbmlops_v,$(firstword \
	$(2)),EXPERIMENT),$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))

# The recipe of project $(1)'s substituted copy.
define __dbmlops_subst_cmds
rm -rf '$(call __dbmlops_pdir,$(1)).tmp'
mkdir -p '$(call __dbmlops_pdir,$(1)).tmp'
$(call __dbmlops_copy,$(call __dbmlops_v,$(1),MLPROJECT),$(call __dbmlops_pdir,$(1)).tmp)
bin=$(__dbmlops_bin) && cd '$(call __dbmlops_pdir,$(1)).tmp' && \
    $(__dbmlops_exec) "$${bin}wheelpath-subst" -i \
    --manifest '$(abspath $(DBMLOPS_STATE))/upload.json' \
    $(call __dbmlops_subst_args,$(1))
rm -rf '$(call __dbmlops_pdir,$(1))'
mv '$(call __dbmlops_pdir,$(1)).tmp' '$(call __dbmlops_pdir,$(1))'
@touch '$@'
endef

# The recipe that submits project $(1)'s copy and waits.
define __dbmlops_submit_cmds
$(__dbmlops_env) && $(foreach n,$(call __dbmlops_run_refs,$(1)),__dbm_run_$(n)=$$( \
    $(__dbmlops_exec) '$(__dbmlops_tools)mlflow-submit' --last-run \
    --experiment-name "$$DBMLOPS_EXPERIMENT_NAME_$(n)") || exit $$?; ) \
    $(__dbmlops_exec) '$(__dbmlops_tools)mlflow-submit' -b databricks \
    $(call __dbmlops_compute,$(1)) --source '$(call __dbmlops_v,$(1),MLPROJECT)' \
    --experiment-name "$$DBMLOPS_EXPERIMENT_NAME$(if $(1),_$(1))" \
    -e '$(call __dbmlops_refs,$(call __dbmlops_v,$(1),ENTRY))' \
    $(foreach p,$(call __dbmlops_v,$(1),PARAMS),-P '$(call __dbmlops_refs,$(p))') \
    $(call __dbmlops_v,$(1),SUBMIT_FLAGS) '$(call __dbmlops_pdir,$(1))'
endef

$(DBMLOPS_STATE)/project.stamp: $(DBMLOPS_STATE)/upload.json \
    $(__dbmlops_mlproject_files)
	$(call __dbmlops_subst_cmds,)

dbmlops-subst: $(DBMLOPS_STATE)/project.stamp

dbmlops-submit: $(DBMLOPS_STATE)/project.stamp $(DBMLOPS_STATE)/branch.env
	$(call __dbmlops_submit_cmds,)

dbmlops-run: dbmlops-submit

# One more MLflow project, NAME in folder DIR, of the repository's wheels:
#     $(eval $(call dbmlops_project,NAME,DIR))
# declares dbmlops-subst-NAME, dbmlops-submit-NAME and dbmlops-run-NAME,
# with the knobs NAME_ENTRY, NAME_PARAMS, NAME_CLUSTER, NAME_COMPUTE,
# NAME_SUBST_FILES and NAME_SUBMIT_FLAGS (the DBMLOPS_ ones by default)
# and NAME_EXPERIMENT (DBMLOPS_EXPERIMENT-NAME: beside the branch's
# others). NAME is a shell name: letters, digits, _.
__dbmlops_word_chars := a b c d e f g h i j k l m n o p q r s t u v w x y z \
	A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0 1 2 3 4 5 6 7 8 9 _
__dbmlops_nonword = $(if $(2),$(call __dbmlops_nonword,$(subst \
	$(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
define dbmlops_project
$$(if $$(or $$(call __dbmlops_nonword,$(1),$$(__dbmlops_word_chars)),$$(filter \
	0% 1% 2% 3% 4% 5% 6% 7% 8% 9%,$(1))),$$(error \
	dbmlops_project '$(1)': a project's name is a shell name (letters, \
	digits and _, not first a digit)))
$$(if $$(filter $(1),$$(__dbmlops_projects)),$$(error \
	dbmlops_project '$(1)': declared twice))
$$(if $$(strip $(2)),,$$(error dbmlops_project '$(1)': name its folder))
__dbmlops_projects += $(1)
$(1)_MLPROJECT := $$(strip $(2))
$(1)_ENTRY ?= main
$(1)_PARAMS ?=
$(1)_CLUSTER ?= $$(DBMLOPS_CLUSTER)
$(1)_COMPUTE ?= $$(DBMLOPS_COMPUTE)
$(1)_SUBST_FILES ?= $$(DBMLOPS_SUBST_FILES)
$(1)_SUBMIT_FLAGS ?= $$(DBMLOPS_SUBMIT_FLAGS)
$(1)_EXPERIMENT ?= $$(DBMLOPS_EXPERIMENT)-$(1)
$$(DBMLOPS_STATE)/$(1)/project.stamp: $$(DBMLOPS_STATE)/upload.json \
    $$(call __dbmlops_find_project,$(2))
	@mkdir -p '$$(DBMLOPS_STATE)/$(1)'
	$$(call __dbmlops_subst_cmds,$(1))
dbmlops-subst-$(1): $$(DBMLOPS_STATE)/$(1)/project.stamp
dbmlops-submit-$(1): $$(DBMLOPS_STATE)/$(1)/project.stamp $$(DBMLOPS_STATE)/branch.env
	$$(call __dbmlops_submit_cmds,$(1))
dbmlops-run-$(1): dbmlops-submit-$(1)
.PHONY: dbmlops-subst-$(1) dbmlops-submit-$(1) dbmlops-run-$(1)
endef

# What the branch (DBMLOPS_BRANCH, else the checkout's) left: its wheel
# folder's content folders and its experiments with their project code,
# but what an active run uses (branch-clean(1)). make -n runs it too, as
# branch-clean -n: it says what would go. The upload's stamp goes first
# (what it names may go), so the next upload checks again.
__dbmlops_dry = $(if $(findstring n,$(firstword -$(MAKEFLAGS))),-n)
dbmlops-clean: | $(DBMLOPS_STATE)/.gitignore
	+@mkdir -p '$(DBMLOPS_STATE)' && eval "$$($(__dbmlops_branch_cmd))" && \
	    $(if $(__dbmlops_dry),,rm -f '$(DBMLOPS_STATE)/upload.json' &&) \
	    DBMLOPS_WORKSPACE='$(DBMLOPS_WORKSPACE)' && export DBMLOPS_WORKSPACE && \
	    $(__dbmlops_exec) '$(__dbmlops_tools)branch-clean' $(__dbmlops_dry) \
	    $(if $(DBMLOPS_KEEP),--keep '$(DBMLOPS_KEEP)') \
	    --min-age '$(DBMLOPS_CLEAN_MIN_AGE)' -e "$$DBMLOPS_EXPERIMENT_NAME" \
	    $(foreach n,$(__dbmlops_projects),-e "$$DBMLOPS_EXPERIMENT_NAME_$(n)") \
	    $(DBMLOPS_CLEAN_FLAGS) "$$DBMLOPS_WHEEL_DEST"

__dbmlops_force:

.PHONY: dbmlops-branch dbmlops-wheel dbmlops-upload dbmlops-subst \
	dbmlops-submit dbmlops-run dbmlops-clean __dbmlops_force
endif
