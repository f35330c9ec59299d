# KVM Userfault: the patch series in patches/ and its test bed.
# Stages, each one script under scripts/:
#   deps -> fetch -> apply -> build (kernel, selftests, initramfs) -> test | run
# See README.md.

SHELL := /bin/bash
TARGETS ?= x86_64 arm64
RUNS ?= x86_64-tdp x86_64-shadow x86_64-tsc arm64-nvhe arm64-vhe arm64-pkvm
# The debug kernel's runs (runs/TARGET-debug-*.sh) of the targets chosen.
DEBUG_RUNS ?= $(foreach t,$(TARGETS),$(patsubst runs/%.sh,%,$(wildcard runs/$(t)-debug-*.sh)))
S := scripts

.PHONY: all run test deps fetch apply export build $(addprefix build-,$(TARGETS)) \
	check-series check-docs clean test-debug $(addprefix build-debug-,$(TARGETS)) \
	regress boot-loop

all: build

deps:
	@$(S)/deps.sh

fetch: deps
	@$(S)/fetch-base.sh >/dev/null

apply: fetch
	@$(S)/apply-series.sh

export:
	@$(S)/export-series.sh

# One target's kernel, selftests, postcopy VMM and initramfs.
# (A static pattern rule: make skips implicit rules for .PHONY targets.)
$(addprefix build-,$(TARGETS)): build-%: apply
	@$(S)/build-kernel.sh $*
	@$(S)/build-selftests.sh $*
	@$(S)/build-vmm.sh $*
	@$(S)/build-initramfs.sh $*

build: $(addprefix build-,$(TARGETS))

# The same target with the debug kernel (configs/debug.config): lockdep,
# KASAN, UBSAN, KFENCE, DEBUG_VM, DEBUG_LIST and KVM's own assertions.  The
# guest's user space (selftests, initramfs) is the target's own.
$(addprefix build-debug-,$(TARGETS)): build-debug-%: build-%
	@$(S)/build-kernel.sh $* debug

# Per patch: checkpatch, x86_64 + arm64 builds, W=1, selftests, UAPI headers.
check-series: fetch
	@$(S)/check-series.sh

# htmldocs of Documentation/virt/kvm, no warnings.
check-docs: apply
	@$(S)/check-docs.sh

# Everything CI checks.
test: build
	@HOST_CHECKS="check-docs" $(S)/test.sh $(RUNS)

# The userfault plans on the debug kernels; any kernel-log report fails.
test-debug: $(addprefix build-debug-,$(TARGETS))
	@$(S)/test.sh $(DEBUG_RUNS)

# The whole upstream KVM selftests suite of each architecture on the unpatched
# base kernel and on the series, on each run of REGRESS_RUNS; a test that
# passes on base and fails with the series fails this.  Table in
# build/logs/regress/table.md.  Not part of `make test` (see README).
REGRESS_RUNS ?= x86_64-tdp x86_64-shadow arm64-nvhe arm64-vhe
regress: build
	@$(S)/regress.sh $(REGRESS_RUNS)

# Boot one run LOOP_N times in a row: make boot-loop LOOP_RUN=x86_64-tdp.
LOOP_RUN ?= x86_64-tdp
LOOP_N ?= 30
boot-loop: build
	@$(S)/boot-loop.sh $(LOOP_RUN) $(LOOP_N)

# The main job: postcopy live migrations on KVM Userfault (vmm/), in the
# patched x86_64 kernel under QEMU, with their reports, once with each of
# KVM's x86 MMUs: the shadow MMU and the TDP MMU (nested paging), both with
# parallel vCPUs kept off L1's CPU 0 (see README, "Known flakes").
RUN_RUNS ?= x86_64-shadow x86_64-tdp
run: build-x86_64
	@GUEST_PLAN=/plans/x86_64-run.plan $(S)/test.sh $(RUN_RUNS)

# The benchmark: demand_paging_test without userfault, with userfaultfd
# MISSING and MINOR, KVM Userfault alone and with MINOR, at 1, 2 and 4 vCPUs,
# 5 times each, and one fault's round trip per mechanism (bench/), on each
# run of BENCH_RUNS; report, chart and logs in bench/results/.
BENCH_RUNS ?= x86_64-shadow x86_64-tdp arm64-vhe
.PHONY: bench
bench: build
	@$(S)/bench.sh $(BENCH_RUNS)

clean:
	rm -rf build
