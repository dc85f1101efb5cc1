#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh [--demo] [--filter BINARY[,BINARY...] [--args ARGS]]
# [--env NAME=VALUE,...] [--module KO] [--udev RULES] [TARGET...]: boot
# each kernel target in
# QEMU (TCG) from a busybox initramfs holding s2mmu.ko and the selftests
# (or the demo VMM), and check the result.
#
# A target fails on any "not ok", on a test binary whose plan is not
# complete or whose exit status is non-zero, on a boot that times out, on
# a module that does not load or unload, and on any WARNING/BUG/Oops/
# KASAN/lockdep/leak line in the kernel log (which is printed).
#
# Targets: those of scripts/lib.sh; by default $S2MMU_TARGETS (Debian's
# stock kernels).  x86_64-debug boots the debug kernel of
# scripts/debug-kernel.sh (built first when not cached).
#
# Environment: S2MMU_ACCEL=kvm tries KVM first (falling back to TCG);
# S2MMU_QEMU_TIMEOUT (seconds) bounds one boot (default per target:
# 900, 2700 for x86_64-debug); S2MMU_HANG_SECONDS bounds one selftest
# binary (default a third of that): past it the init prints the stacks
# of the binary's threads and the kernel's blocked tasks, kills it and
# goes on, and the binary fails as "hung".
#
# --mirror (x86_64 targets): mirror-all instead of the selftests, real
# programs under LD_PRELOAD=s2mmu_mirror.so (tests/mirror/).
#
# --module KO boots the given s2mmu.ko (e.g. one DKMS built and
# installed) instead of building the module; one target only.
#
# --udev RULES (x86_64 targets): the initramfs also gets Debian's
# udevadm with its libraries, the rules file RULES and an /etc/group
# with an s2mmu group (gid 990); /init runs `udevadm test` on the loaded
# module's device, which applies the rule's GROUP and MODE to /dev/s2mmu
# as udevd would, before the tests (devperm_test checks the result).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$S2MMU_TOP/tests/mirror/initramfs.sh"

mode=test
filter=
targs=
tenv=
targets=
module_ko=
udev_rules=
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) mode=demo ;;
	--mirror) mode=mirror ;;
	--filter) filter=$2; shift ;;
	--args) targs=$2; shift ;;
	--env) tenv=$2; shift ;;
	--module) module_ko=$(realpath "$2"); shift ;;
	--udev) udev_rules=$(realpath "$2"); shift ;;
	*) targets="$targets $1" ;;
	esac
	shift
done
[ -n "$targets" ] || targets=$S2MMU_TARGETS
if [ -n "$module_ko" ]; then
	[ -f "$module_ko" ] || s2_die "--module $module_ko: no such file"
	[ "$(echo $targets | wc -w)" = 1 ] || s2_die "--module takes one target"
fi

# Userspace: static binaries, so the initramfs needs no libc.  The
# selftests through their kselftest Makefile (tests/selftests/Makefile,
# with linux-source-6.12's lib.mk), as a user builds them; the demo with
# libs2mmu.
build_user() {
	local target=$1 out=$2 cross= lib=$S2MMU_TOP/tools/lib compat32=n
	# x86_64: compat32_test's 32-bit build too (an error without
	# gcc-12-multilib: scripts/deps.sh installs it).
	case "$target" in
	arm64-*) cross=aarch64-linux-gnu- ;;
	x86_64-*) compat32=y ;;
	esac
	mkdir -p "$out/tests" "$out/tools"
	make -s -C "$S2MMU_TOP/tests/selftests" -j2 \
		KSFT_DIR="$(s2_linux_src)/tools/testing/selftests" \
		CROSS_COMPILE=$cross OUTPUT="$out/tests" \
		S2MMU_COMPAT32=$compat32 \
		S2MMU_OBJDIR="$out/obj" \
		USERCFLAGS=-Werror USERLDFLAGS=-static >&2
	${cross}gcc -static -O2 -Wall -Wextra -Werror \
		-I"$S2MMU_TOP/include/uapi" -I"$lib" \
		-o "$out/tools/s2mmu-demo" "$S2MMU_TOP/tools/s2mmu-demo.c" \
		"$lib/libs2mmu.c"
	${cross}gcc -static -O2 -Wall -Wextra -Werror \
		-I"$S2MMU_TOP/include/uapi" \
		-o "$out/tools/s2mmu_stat" "$S2MMU_TOP/tools/s2mmu_stat.c"
}

make_initramfs() {
	local target=$1 root=$2 img=$3 busybox
	case "$target" in
	arm64-*) busybox=$S2MMU_CACHE/busybox-arm64/bin/busybox ;;
	*) busybox=/bin/busybox ;;
	esac
	[ -x "$busybox" ] || s2_die "$busybox missing: run scripts/deps.sh"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	cp "$S2MMU_TOP/tests/qemu/init" "$root/init"
	chmod 755 "$root/init"
	if [ -n "$module_ko" ]; then
		# A DKMS-installed module may be compressed (Debian's 6.12:
		# .ko.xz); busybox insmod takes only a plain one.
		case "$module_ko" in
		*.xz) xz -dc "$module_ko" > "$root/lib/modules/s2mmu.ko" ;;
		*.zst) zstd -qdc "$module_ko" > "$root/lib/modules/s2mmu.ko" ;;
		*.gz) gzip -dc "$module_ko" > "$root/lib/modules/s2mmu.ko" ;;
		*) cp "$module_ko" "$root/lib/modules/s2mmu.ko" ;;
		esac
	else
		cp "$S2MMU_BUILD/$target/$flavour/s2mmu.ko" "$root/lib/modules/"
	fi
	[ -z "$udev_rules" ] || udev_initramfs "$target" "$root"
	[ "$mode" != test ] || zram_initramfs "$target" "$root"
	[ "$mode" != test ] || trace_cmd_initramfs "$target" "$root"
	cp -r "$S2MMU_BUILD/$target/user/tests" "$S2MMU_BUILD/$target/user/tools" "$root/"
	[ "$mode" != mirror ] || mirror_initramfs "$target" "$root"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$img"
}

# copy_with_libs BIN ROOT DEST: the host binary BIN as ROOT/DEST, with the
# shared libraries it links (as ldd lists them) at their paths.
copy_with_libs() {
	local bin=$1 root=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")"
	cp "$(readlink -f "$bin")" "$root$dest"
	for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# trace_cmd_initramfs TARGET ROOT: Debian's trace-cmd for trace_test on
# Debian's x86_64 kernels (the host's binary); elsewhere, or when it is
# not installed, trace_test skips its trace-cmd case.  Not on the debug
# kernel: there record and report take 30 s, for a check of userspace
# tooling the stock kernels already make.
trace_cmd_initramfs() {
	case "$1" in
	x86_64-6.*) ;;
	*) return 0 ;;
	esac
	if ! command -v trace-cmd >/dev/null; then
		s2_log "trace-cmd missing (run scripts/deps.sh): trace_test skips it"
		return 0
	fi
	copy_with_libs "$(command -v trace-cmd)" "$2" /usr/bin/trace-cmd
}

# zram_initramfs TARGET ROOT: the target kernel's zram module and the
# modules it depends on (modinfo), uncompressed (busybox insmod takes no
# .ko.xz), under /lib/modules/VERSION with depmod's modules.dep, so a
# test that needs swap can `modprobe zram` and set up a device of its
# own (mte_test's swap case).  Nothing loads them at boot: the other
# tests run without swap, as before.  The debug kernel has zram built in.
zram_initramfs() {
	local target=$1 root=$2 kver name ko rel seen=" "
	local -a todo=(zram) deps
	s2_target_vars "$target"
	[ -n "$T_MODULES" ] || return 0
	kver=${T_MODULES##*/}
	while [ ${#todo[@]} -gt 0 ]; do
		name=${todo[0]}
		todo=("${todo[@]:1}")
		case "$seen" in *" $name "*) continue ;; esac
		seen="$seen$name "
		ko=$(find "$T_MODULES/kernel" \( -name "$name.ko" -o \
			-name "$name.ko.xz" \) -print -quit)
		[ -n "$ko" ] || s2_die "$target: no module $name in $T_MODULES"
		rel=${ko#"$T_MODULES"/}
		rel=${rel%.xz}
		mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
		case "$ko" in
		*.xz) xz -dc "$ko" > "$root/lib/modules/$kver/$rel" ;;
		*) cp "$ko" "$root/lib/modules/$kver/$rel" ;;
		esac
		echo "$rel" >> "$root/lib/modules/$kver/modules.order"
		read -ra deps <<< "$(modinfo -F depends "$ko" | tr , ' ')"
		todo+=("${deps[@]}")
	done
	cp "$T_MODULES/modules.builtin" "$T_MODULES/modules.builtin.modinfo" \
		"$root/lib/modules/$kver/"
	depmod -b "$root" "$kver"
}

# udev_initramfs TARGET ROOT: udevadm and its libraries, the rules file and the users and groups the tests use.
udev_initramfs() {
	local target=$1 root=$2 lib
	case "$target" in
	x86_64-*) ;;
	*) s2_die "--udev: x86_64 targets only (the host's udevadm)" ;;
	esac
	mkdir -p "$root/etc/udev/rules.d" "$root/run"
	copy_with_libs /bin/udevadm "$root" /usr/bin/udevadm
	cp "$udev_rules" "$root/etc/udev/rules.d/"
	printf 'root:x:0:0:root:/:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n' \
		> "$root/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\ns2mmu:x:990:\n' > "$root/etc/group"
}

boot() {
	local target=$1 initrd=$2 log=$3 cmdline qemu accel env
	s2_target_vars "$target"
	[ -f "$T_IMAGE" ] || s2_die "$T_IMAGE missing: run scripts/deps.sh"
	# A soft lockup starves the init's watchdog: end the boot at once
	# and replay the whole kernel log, backtraces of every CPU included,
	# past loglevel=1.
	cmdline="loglevel=1 panic=-1 softlockup_panic=1"
	cmdline="$cmdline softlockup_all_cpu_backtrace=1 panic_print=0x20"
	cmdline="$cmdline $T_CMDLINE s2mmu.mode=$mode"
	# A third of the boot's time for one selftest binary: past it the
	# init's watchdog dumps its stacks and kills it.
	cmdline="$cmdline s2mmu.hang=${S2MMU_HANG_SECONDS:-$((${S2MMU_QEMU_TIMEOUT:-$T_TIMEOUT} / 3))}"
	[ -z "$filter" ] || cmdline="$cmdline s2mmu.filter=$filter"
	[ -z "$targs" ] || cmdline="$cmdline s2mmu.args=$(echo "$targs" | tr ' ' ,)"
	env=$T_TEST_ENV${T_TEST_ENV:+${tenv:+,}}$tenv
	[ -z "$env" ] || cmdline="$cmdline s2mmu.env=$env"
	[ -z "$udev_rules" ] || cmdline="$cmdline s2mmu.udev=1"
	case "$T_QEMU_ARCH" in
	x86_64)
		qemu=(qemu-system-x86_64 -M "$T_QEMU_MACHINE" -cpu max -smp 2
			-m "$T_QEMU_MEM")
		cmdline="console=ttyS0 $cmdline"
		;;
	aarch64)
		qemu=(qemu-system-aarch64 -M virt,mte=on -cpu max -smp 2 -m "$T_QEMU_MEM")
		cmdline="console=ttyAMA0 $cmdline"
		;;
	esac
	[ "$mode" != mirror ] || qemu+=("${S2MMU_MIRROR_QEMU[@]}")
	accel="-accel tcg,thread=multi"
	[ "${S2MMU_ACCEL:-tcg}" != kvm ] || accel="-accel kvm -accel tcg,thread=multi"
	# shellcheck disable=SC2086
	timeout --foreground "${S2MMU_QEMU_TIMEOUT:-$T_TIMEOUT}" \
		"${qemu[@]}" $accel -nographic -no-reboot -nodefaults \
		-serial stdio -kernel "$T_IMAGE" -initrd "$initrd" \
		-append "$cmdline" < /dev/null > "$log" 2>&1 || true
	if [ "${S2MMU_ACCEL:-tcg}" = kvm ] && ! grep -q S2MMU-DONE "$log"; then
		s2_log "$target: KVM run failed, retrying with TCG"
		S2MMU_ACCEL=tcg boot "$@"
	fi
}

failed=0
for target in $targets; do
	s2_log "$target: building module and userspace"
	# The selftests load the test flavour (its test_* knobs inject
	# delays and faults); the demo and mirror-all what users install.
	flavour=module
	if [ -n "$module_ko" ]; then
		s2_log "$target: loading $module_ko (--module)"
	elif [ "$mode" = test ]; then
		flavour=module-prove
		bash "$S2MMU_TOP/scripts/build-module.sh" --prove "$target" 2>/dev/null
	else
		bash "$S2MMU_TOP/scripts/build-module.sh" "$target" 2>/dev/null
	fi
	build_user "$target" "$S2MMU_BUILD/$target/user"
	initrd=$S2MMU_BUILD/$target/initramfs.cpio.gz
	make_initramfs "$target" "$S2MMU_BUILD/$target/initramfs" "$initrd"
	log=$S2MMU_BUILD/$target/console-$mode.log
	s2_log "$target: booting ($mode)"
	start=$(date +%s)
	boot "$target" "$initrd" "$log"
	# A kernel that crashes before /init runs (no S2MMU-KERNEL line:
	# s2mmu.ko was never loaded) says nothing about s2mmu: under TCG the
	# stock 6.12 kernel very rarely takes a stray int3 while patching its
	# text at boot.  Boot again, at most twice, keeping the failed log.
	# A boot that only hangs is not retried (it already took the timeout).
	for retry in 1 2; do
		grep -qa 'S2MMU-KERNEL' "$log" && break
		why=$(grep -m1 -aoE 'Oops[^[]*|Kernel panic.*|BUG:.*' "$log") ||
			break
		cp "$log" "$log.crashed-$retry"
		s2_log "$target: the kernel crashed before /init ran ($why); log kept in $log.crashed-$retry; booting again"
		boot "$target" "$initrd" "$log"
	done
	s2_log "$target: QEMU ran $(($(date +%s) - start)) s; console log: $log"
	if [ "$mode" = demo ]; then
		sed -n '/^S2MMU-BEGIN demo/,/^S2MMU-END demo/p' "$log" | tr -d '\r' |
			sed '1d;$d'
	fi
	python3 "$S2MMU_TOP/tests/qemu/parse.py" --target "$target" \
		--mode "$mode" "$log" || failed=1
done
exit $failed
