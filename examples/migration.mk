# A migration as make targets. Copy this file next to your idm.toml (tenant URLs, client id,
# state journal, rate limits: see the README) and run, in order:
#
#   make -f migration.mk plan      export, draft connectors, map, attributes report, the plan
#   make -f migration.mk apply     create the attributes, then load (resumes when interrupted)
#   make -f migration.mk verify    read the target back and compare it with the mapped records
#   make -f migration.mk report    one HTML page for the people who sign off
#   make -f migration.mk cutover   at cut-over: export what changed since and load it
#   make -f migration.mk csv       or: OneLogin's bulk-upload CSV instead of API writes
#
# Every step is a file in $(OUT) made from the files before it, so make redoes only what
# changed: edit connectors.json and `make plan` maps again, from the same export. The source
# is exported once; `make refresh` (or deleting $(OUT)/export.ndjson) exports it again.
# Secrets come from the keyring (`idm-creds set ...`) or the environment, never from here.
#
# Records that a tool rejects (exit 3) are reported and the run goes on, as the tools do;
# STRICT=1 stops at the first such step instead. `make apply` stops when some writes failed:
# their results are in $(OUT)/results.failed.ndjson; fix the cause and run `make apply`
# again, which writes only what is still missing.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SUFFIXES:

# Where the idm tools are (empty: on PATH), and the migration's shape.
IDM_BIN ?=
SOURCE ?= okta
TARGET ?= onelogin
OUT ?= migration
# Your connector map (OneLogin targets). Created from the draft when missing, never overwritten.
CONNECTORS ?= connectors.json
# Extra flags per step, e.g. EXPORT_FLAGS='--dir ./stormpath-export' for SOURCE=stormpath.
EXPORT_FLAGS ?=
MAP_FLAGS ?=
LOAD_FLAGS ?=

T := $(if $(IDM_BIN),$(IDM_BIN)/,)
# exit 3 (some records rejected or failed, named on stderr) goes on unless STRICT is set
GO_ON := $(if $(STRICT),,|| test $$? -eq 3)
# the project file and the connector map are inputs of the steps that read them
CONFIG := $(wildcard idm.toml)
ifeq ($(TARGET),onelogin)
MAP_INPUTS := $(CONNECTORS)
MAP_CONNECTORS := --connectors $(CONNECTORS)
endif

.PHONY: all export connectors map attrs plan apply verify report cutover csv refresh clean
all: plan

export: $(OUT)/export.ndjson
connectors: $(OUT)/connectors.draft.json
map: $(OUT)/mapped.ndjson
attrs: $(OUT)/attributes.txt
plan: $(OUT)/plan.ndjson $(OUT)/attributes.txt
	@echo "plan: $(OUT)/plan.ndjson (idm-load's summary above); attributes: $(OUT)/attributes.txt"
apply: $(OUT)/results.ndjson
csv: $(OUT)/bulk_upload.csv

$(OUT):
	mkdir -p -m 700 $@

$(OUT)/export.ndjson: | $(OUT)
	$(T)idm-export --from $(SOURCE) $(EXPORT_FLAGS) -o $@.part
	mv $@.part $@

# OneLogin's catalogue against the exported apps: what to decide is under to_choose
$(OUT)/connectors.draft.json: $(OUT)/export.ndjson
	$(T)idm-connectors -i $< -o $@.part $(GO_ON)
	mv $@.part $@

# your map starts as the draft; after that it is yours (make never overwrites it)
$(CONNECTORS): | $(OUT)/connectors.draft.json
	cp $(OUT)/connectors.draft.json $@
	@echo "$@: drafted; decide the apps under to_choose and no_candidate, then make plan" >&2

$(OUT)/mapped.ndjson: $(OUT)/export.ndjson $(MAP_INPUTS) $(CONFIG)
	$(T)idm-map --to $(TARGET) $(MAP_CONNECTORS) $(MAP_FLAGS) -i $< -o $@.part \
	  --rejects $(OUT)/map-rejects.ndjson $(GO_ON)
	mv $@.part $@

# which custom attributes the users carry, and which the target lacks (read-only)
$(OUT)/attributes.txt: $(OUT)/mapped.ndjson
	$(T)idm-attrs --to $(TARGET) -i $< -o /dev/null 2> $@.part $(GO_ON)
	mv $@.part $@

$(OUT)/plan.ndjson: $(OUT)/mapped.ndjson
	$(T)idm-load --to $(TARGET) $(LOAD_FLAGS) -i $< -o $@.part $(GO_ON)
	mv $@.part $@

# Attributes first, then the load. Killed half-way, the next `make apply` runs it again and
# the journal makes it skip what is done.
$(OUT)/results.ndjson: $(OUT)/mapped.ndjson
	$(T)idm-attrs --to $(TARGET) --apply -i $< -o $(OUT)/ready.ndjson
	rc=0; $(T)idm-load --to $(TARGET) --apply $(LOAD_FLAGS) -i $(OUT)/ready.ndjson \
	  -o $@.part || rc=$$?; \
	if [ $$rc -eq 3 ]; then mv $@.part $(OUT)/results.failed.ndjson; \
	  echo "apply: some writes failed ($(OUT)/results.failed.ndjson); fix them and run make apply again" >&2; exit 3; fi; \
	[ $$rc -eq 0 ] && mv $@.part $@

# verify reads the live target: it runs every time
verify: $(OUT)/results.ndjson
	cat $(OUT)/export.ndjson $(OUT)/mapped.ndjson \
	  | $(T)idm-verify --to $(TARGET) -o $(OUT)/verify.ndjson

report: $(OUT)/report.html
$(OUT)/report.html: $(OUT)/mapped.ndjson $(wildcard $(OUT)/results.ndjson $(OUT)/verify.ndjson $(OUT)/cutover-results.ndjson)
	$(T)idm-report -o $@ $(OUT)/export.ndjson $(filter %.ndjson,$^)

# Cut-over: only what changed at the source since the last export (changed users, every group
# and its members), mapped and loaded on top of the migration; then `make verify` reads the
# whole target back. The export moves the `--since last` bookmark, so the delta is kept until
# its load succeeds: a cut-over that failed half-way loads the same delta again when re-run
# (the journal skips what is done) instead of exporting past the changes it did not load.
# The members of a group include people the migration rejected; the rejects files say who, so
# their edges are dropped again rather than refused by idm-load.
cutover: $(OUT)/results.ndjson
	if [ -s $(OUT)/delta.ndjson ]; then \
	  echo "cutover: the last delta was not loaded; loading $(OUT)/delta.ndjson again" >&2; \
	else \
	  $(T)idm-export --from $(SOURCE) --since last $(EXPORT_FLAGS) -o $(OUT)/delta.ndjson.part; \
	  mv $(OUT)/delta.ndjson.part $(OUT)/delta.ndjson; \
	fi
	$(T)idm-map --to $(TARGET) $(MAP_CONNECTORS) $(MAP_FLAGS) -i $(OUT)/delta.ndjson \
	  $(foreach f,$(wildcard $(OUT)/map-rejects.ndjson $(OUT)/cutover-rejects.ndjson),--rejected-before $(f)) \
	  -o $(OUT)/delta-mapped.ndjson --rejects $(OUT)/delta-rejects.ndjson $(GO_ON)
	cat $(OUT)/delta-rejects.ndjson >> $(OUT)/cutover-rejects.ndjson
	$(T)idm-attrs --to $(TARGET) --apply -i $(OUT)/delta-mapped.ndjson \
	  | $(T)idm-load --to $(TARGET) --apply $(LOAD_FLAGS) -o $(OUT)/cutover-results.ndjson
	mv $(OUT)/delta.ndjson $(OUT)/delta-loaded-$$(date -u +%Y%m%dT%H%M%SZ).ndjson

$(OUT)/bulk_upload.csv: $(OUT)/mapped.ndjson
	$(T)idm-csv -i $< -o $@.part $(GO_ON)
	mv $@.part $@

refresh:
	rm -f $(OUT)/export.ndjson
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) plan

clean:
	rm -rf $(OUT)
