# dbmlops.mk: make targets that take a branch to a run on Databricks.
#
# Usage, in a project's Makefile:
#
#     include /usr/local/share/dbmlops/mk/dbmlops.mk
#
# Targets (all namespaced, none becomes your default goal):
#     dbmlops-branch   write $(DBMLOPS_STATE)/branch.env: the branch slug,
#                      experiment name and wheel folder, for the other steps
#
# Knobs (set before or after the include, or on the command line):
#     DBMLOPS_BRANCH_NAME  the branch-name program           (branch-name)
#     DBMLOPS_STATE        where state and stamps are kept    (.dbmlops)
#     DBMLOPS_PROJECT      the {project} of the templates     (repo dir name)
#     DBMLOPS_EXPERIMENT   experiment path template  (/Shared/{project}/{branch})
#     DBMLOPS_WHEEL_DIR    wheel folder template     (dbfs:/wheels/{branch})
#
# More steps (upload, subst, submit, run) arrive with their tools.

ifndef __dbmlops_included
__dbmlops_included := 1
__dbmlops_dir := $(dir $(lastword $(MAKEFILE_LIST)))

DBMLOPS_BRANCH_NAME ?= branch-name
DBMLOPS_STATE ?= .dbmlops
DBMLOPS_EXPERIMENT ?= /Shared/{project}/{branch}
DBMLOPS_WHEEL_DIR ?= dbfs:/wheels/{branch}

__dbmlops_project = $(if $(DBMLOPS_PROJECT),--project '$(DBMLOPS_PROJECT)')

# The branch can change between two runs of make without any file changing,
# so this step always runs; it rewrites branch.env only when the content
# differs, so targets depending on the file stay up to date otherwise.
dbmlops-branch:
	@mkdir -p '$(DBMLOPS_STATE)'
	@$(DBMLOPS_BRANCH_NAME) --export $(__dbmlops_project) \
	    -F 'DBMLOPS_EXPERIMENT_NAME=$(DBMLOPS_EXPERIMENT)' \
	    -F 'DBMLOPS_WHEEL_DEST=$(DBMLOPS_WHEEL_DIR)' \
	    > '$(DBMLOPS_STATE)/branch.env.tmp'
	@if cmp -s '$(DBMLOPS_STATE)/branch.env.tmp' '$(DBMLOPS_STATE)/branch.env'; \
	then rm -f '$(DBMLOPS_STATE)/branch.env.tmp'; \
	else mv '$(DBMLOPS_STATE)/branch.env.tmp' '$(DBMLOPS_STATE)/branch.env'; fi
	@sed -n 's/^\(DBMLOPS_[A-Z_]*\)=\(.*\); export.*/\1=\2/p' '$(DBMLOPS_STATE)/branch.env'

.PHONY: dbmlops-branch
endif
