# SPDX-License-Identifier: GPL-2.0
#
# s2mmu: `make` builds s2mmu.ko for KDIR; `make demo` and `make check` are
# the two commands of README.md.

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(lastword $(sort $(wildcard /usr/src/linux-headers-6.12*-amd64))))

# The one version of the tree: dkms.conf, debian/changelog (checked by
# scripts/check-dkms.sh) and MODULE_VERSION (through KCFLAGS: Kbuild
# leaves it out, so the check and test builds have none).
VERSION := $(shell cat $(CURDIR)/VERSION)

# Out-of-tree module build in place (when invoked from this Makefile
# rather than from Kbuild, which reads Kbuild instead).
all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 KCFLAGS=-DS2MMU_VERSION=$(VERSION) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

# Everything below runs scripts that install their own dependencies.
deps:
	bash scripts/deps.sh

check:
	bash scripts/check.sh

demo:
	bash scripts/demo.sh

kunit: deps
	bash tests/kunit/run.sh

selftests: deps
	bash tests/qemu/run.sh $(TARGETS)

# Benchmarks (not part of check): Documentation/bench.rst.
bench:
	bash scripts/bench.sh $(CASES)

.PHONY: all modules clean deps check demo kunit selftests bench

# The long torture run: only torture_test, on x86_64-6.12, for DURATION
# seconds per VM type (make check runs it for 20 s); SEED=n replays a run.
DURATION ?= 600
torture: deps
	S2MMU_QEMU_TIMEOUT=$$((2 * $(DURATION) + 600)) \
		bash tests/qemu/run.sh --filter torture_test \
		--env S2MMU_TORTURE_SECONDS=$(DURATION)$(if $(SEED),$(comma)S2MMU_SEED=$(SEED)) \
		x86_64-6.12

# The large-VM zap test at full size: 8 GiB mapped at 4 KiB (make check
# maps 1), on the stock 6.12 kernel and the debug kernel.
SCALE_GIB ?= 8
scale: deps
	S2MMU_QEMU_TIMEOUT=3600 bash tests/qemu/run.sh --filter scale_test \
		--env S2MMU_SCALE_4K_GIB=$(SCALE_GIB) x86_64-6.12 x86_64-debug

comma := ,
.PHONY: torture scale
