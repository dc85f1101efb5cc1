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
# KDIR's kernel release (Debian's 6.1 headers have the upstream one in
# include/config/kernel.release, the package's one in utsrelease.h).
KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h)

# Out-of-tree module build in place (when invoked from this Makefile
# rather than from Kbuild, which reads Kbuild instead).
all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 KCFLAGS=-DS2MMU_VERSION=$(VERSION) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build

# Installing without DKMS (README.md, "Installing"): the module into
# /lib/modules/KVER/updates/ of KDIR's kernel, the udev rule giving
# /dev/s2mmu to the s2mmu group, and the group itself when missing.
# $(S2MMU_STATE)/ lists what install created (module-KVER per kernel,
# with module-KVER.dir the directories it made and module-KVER.depmod
# when the kernel had no depmod files yet; common for the rule and the
# group); uninstall removes exactly that: the kernel's module and
# directories, depmod's files when install's depmod made them (a kernel
# with headers only; else depmod runs again), then, with the last
# kernel, the rule and the group, the group only if install created it.
# The module is not signed (distribution headers have no signing key):
# with Secure Boot, use DKMS, which signs with its MOK key.
UDEV_RULES_DIR ?= /etc/udev/rules.d
S2MMU_STATE ?= /var/lib/s2mmu
RULE := $(UDEV_RULES_DIR)/60-s2mmu.rules
KMODDIR = /lib/modules/$(KVER)
MODDIR = $(KMODDIR)/updates

install: modules
	@[ -n "$(KVER)" ] || { echo "s2mmu: no kernel release in $(KDIR)"; exit 1; }
	mkdir -p $(S2MMU_STATE)
	[ -f $(S2MMU_STATE)/module-$(KVER) ] || { \
		rm -f $(S2MMU_STATE)/module-$(KVER).*; \
		[ -d $(MODDIR) ] || echo $(MODDIR) >> $(S2MMU_STATE)/module-$(KVER).dir; \
		[ -d $(KMODDIR) ] || echo $(KMODDIR) >> $(S2MMU_STATE)/module-$(KVER).dir; \
		[ -f $(KMODDIR)/modules.dep ] || touch $(S2MMU_STATE)/module-$(KVER).depmod; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) KERNELRELEASE=$(KVER) \
		INSTALL_MOD_DIR=updates CONFIG_MODULE_SIG_ALL= modules_install
	ls $(MODDIR)/s2mmu.ko* > $(S2MMU_STATE)/module-$(KVER)
	depmod -a $(KVER)
	if [ ! -f $(S2MMU_STATE)/common ]; then \
		install -D -m 644 packaging/udev/60-s2mmu.rules $(RULE) && \
		echo $(RULE) > $(S2MMU_STATE)/common && \
		if ! getent group s2mmu > /dev/null; then \
			groupadd --system s2mmu && \
			echo group:s2mmu >> $(S2MMU_STATE)/common; \
		fi; \
	fi
	udevadm control --reload-rules 2> /dev/null || true
	@echo "s2mmu $(VERSION) installed for $(KVER); add its users to group s2mmu"

uninstall:
	@[ -f $(S2MMU_STATE)/module-$(KVER) ] || \
		{ echo "s2mmu: not installed for $(KVER) by make install"; exit 1; }
	rm -f $$(cat $(S2MMU_STATE)/module-$(KVER))
	if [ -f $(S2MMU_STATE)/module-$(KVER).depmod ] && \
	   [ ! -e $(KMODDIR)/kernel ]; then \
		rm -f $(KMODDIR)/modules.*; \
	else \
		depmod -a $(KVER); \
	fi
	if [ -f $(S2MMU_STATE)/module-$(KVER).dir ]; then \
		rmdir $$(cat $(S2MMU_STATE)/module-$(KVER).dir); fi
	rm -f $(S2MMU_STATE)/module-$(KVER) $(S2MMU_STATE)/module-$(KVER).*
	if ! ls $(S2MMU_STATE)/module-* > /dev/null 2>&1; then \
		rm -f $$(grep -v '^group:' $(S2MMU_STATE)/common) && \
		if grep -qx group:s2mmu $(S2MMU_STATE)/common; then \
			groupdel s2mmu; fi && \
		rm -f $(S2MMU_STATE)/common && rmdir $(S2MMU_STATE); \
	fi
	udevadm control --reload-rules 2> /dev/null || true

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

.PHONY: all modules clean install uninstall deps check demo kunit selftests bench

# The long torture run: only torture_test, on x86_64-6.12, for DURATION
# seconds per VM type (make check runs it for 20 s); SEED=n replays a run.
DURATION ?= 600
torture: deps
	S2MMU_HANG_SECONDS=$$((3 * $(DURATION) + 300)) \
	S2MMU_QEMU_TIMEOUT=$$((3 * $(DURATION) + 900)) \
		bash tests/qemu/run.sh --filter torture_test \
		--env S2MMU_TORTURE_SECONDS=$(DURATION)$(if $(SEED),$(comma)S2MMU_SEED=$(SEED)) \
		x86_64-6.12

# The NX huge page storm long: nx_test's recovery_racing_faults (make
# check runs it for 3 s), on x86_64-6.12, for DURATION seconds.
nx-storm: deps
	S2MMU_HANG_SECONDS=$$(($(DURATION) + 300)) \
	S2MMU_QEMU_TIMEOUT=$$(($(DURATION) + 900)) \
		bash tests/qemu/run.sh --filter nx_test \
		--env S2MMU_NX_STORM_SECONDS=$(DURATION)$(if $(SEED),$(comma)S2MMU_SEED=$(SEED)) \
		x86_64-6.12

# The guest_memfd storm long: gmem_test's conversions_punches_release
# (make check runs it for 2 s per VM type), on x86_64-6.12, for DURATION
# seconds per VM type.
gmem-storm: deps
	S2MMU_HANG_SECONDS=$$((2 * $(DURATION) + 300)) \
	S2MMU_QEMU_TIMEOUT=$$((2 * $(DURATION) + 900)) \
		bash tests/qemu/run.sh --filter gmem_test --args "-f gstorm" \
		--env S2MMU_GMEM_STORM_SECONDS=$(DURATION)$(if $(SEED),$(comma)S2MMU_SEED=$(SEED)) \
		x86_64-6.12

# The large-VM zap test at full size: 8 GiB mapped at 4 KiB (make check
# maps 256 MiB), on the stock 6.12 kernel and the debug kernel.
SCALE_MIB ?= 8192
scale: deps
	S2MMU_QEMU_TIMEOUT=3600 bash tests/qemu/run.sh --filter scale_test \
		--env S2MMU_SCALE_4K_MIB=$(SCALE_MIB) x86_64-6.12 x86_64-debug

comma := ,
.PHONY: torture nx-storm gmem-storm scale
