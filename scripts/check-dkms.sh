#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check-dkms.sh: the packaging tests of `make check` (README.md,
# "Installing"), each a result of its own:
#
#   dkms:version          VERSION, dkms.conf and debian/changelog agree
#   dkms:refuse-config    Kbuild stops a kernel without 64BIT or
#                         MMU_NOTIFIER with its message; dkms skips (77)
#                         an excluded kernel release and such a .config
#   dkms:KVER             the sources copied as README.md's DKMS steps
#                         copy them: dkms add, build, install for
#                         Debian's 6.1 amd64 headers; modinfo of the
#                         installed module (name, version, vermagic)
#   dkms:autoinstall-KVER for the 6.12 amd64 headers, no dkms build or
#                         install: the hook their package's postinst runs
#                         (/etc/kernel/header_postinst.d/dkms KVER) builds
#                         and installs it (AUTOINSTALL), the same checks;
#                         the hook writes nothing else (no initramfs)
#   dkms:arm64-KVER       dkms build for the arm64 6.12 headers (cross,
#                         --kernelsourcedir), an AArch64 module
#   dkms:remove           dkms remove --all leaves no module, no DKMS tree
#   make-install          make install / make uninstall for 6.1 and 6.12:
#                         modules, udev rule, group; uninstall leaves
#                         each /lib/modules/KVER as it was, and nothing
#   deb:build, deb:install, deb:purge
#                         s2mmu-dkms built with dpkg-buildpackage outside
#                         the checkout, dpkg -i (DKMS builds and installs
#                         for both kernels), purge leaves nothing
#   dkms:qemu-x86_64-6.12 the DKMS-built 6.12 module in QEMU: vm_test, and
#                         devperm_test after Debian's udevadm applied
#                         packaging/udev/60-s2mmu.rules to /dev/s2mmu
#   dkms:qemu-arm64-6.12  with S2MMU_DKMS_ARM64_BOOT=1 only: the DKMS-built
#                         arm64 module in QEMU, vm_test
#   dkms:machine-restored the machine is as it was before (modules.*
#                         files, /usr/src, /var/lib/dkms, /boot's
#                         initramfs images, udev rules, groups, dpkg)
#
# Whatever happens, everything it changed is undone on exit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ver=$(cat "$S2MMU_TOP/VERSION")
# One run at a time on a machine: two checkouts would add, build and
# remove the same s2mmu/VERSION in the one DKMS tree.
mkdir -p "$S2MMU_CACHE"
exec 8>"$S2MMU_CACHE/check-dkms.lock"
flock 8
abi61=$(s2_abi_61) || s2_die "6.1 headers missing: run scripts/deps.sh"
abi612=$(s2_abi_612) || s2_die "6.12 headers missing: run scripts/deps.sh"
k61=$abi61-amd64 k612=$abi612-amd64 karm=$abi612-arm64
kdir_arm=$S2MMU_CACHE/arm64/usr/src/linux-headers-$karm
scratch=$(mktemp -d /tmp/s2mmu-dkms.XXXXXX)
log=$S2MMU_BUILD/dkms
mkdir -p "$log"
failed=0

res() {
	s2_result "$1" "$2"
	[ "$1" != FAIL ] || failed=1
}

# ck NAME CMD...: one result, the command's output kept in
# $log/NAME.log.  The command runs in a subshell: fail() ends it.
ck() {
	local name=$1 t0=$SECONDS
	shift
	if ( "$@" ) > "$log/${name//[:\/]/_}.log" 2>&1; then
		res PASS "$name"
	else
		tail -n 30 "$log/${name//[:\/]/_}.log" | sed 's/^/  /'
		res FAIL "$name"
	fi
	s2_log "$name: $((SECONDS - t0)) s"
}

fail() { echo "FAILED: $*"; exit 1; }

# build_fail WHAT: fail, with the make.log of the failed dkms build
# first (restore() deletes the DKMS tree it is in).
build_fail() {
	tail -n 40 "/var/lib/dkms/s2mmu/$ver/build/make.log" 2>/dev/null
	fail "$@"
}

# What the tests may change, as a listing to compare: the files under
# /lib/modules/*/ (kernel/ is dpkg's and left alone) with the sums of
# depmod's output, /usr/src and /var/lib/dkms, /boot (size and mtime:
# an initramfs rebuilt by a kernel hook) and initramfs-tools' state,
# the udev rules, the accounts and their backups, the package.
snapshot() {
	local k
	for k in /lib/modules/*/; do
		find "$k" -path "${k}kernel" -prune -o -printf '%p %y %m\n'
	done
	find /boot /var/lib/initramfs-tools -maxdepth 1 \
		-printf '%p %y %m %s %T@\n'
	find /usr/src /var/lib/dkms /etc/udev/rules.d /lib/udev/rules.d \
		-maxdepth 1 -printf '%p %y %m\n'
	ls -d /var/lib/s2mmu /var/lib/s2mmu-dkms 2>/dev/null
	sha256sum /lib/modules/*/modules.* /etc/passwd /etc/group \
		/etc/shadow /etc/gshadow /etc/passwd- /etc/group- \
		/etc/shadow- /etc/gshadow- 2>/dev/null
	dpkg-query -W -f='${Package} ${Status}\n' s2mmu-dkms 2>/dev/null
} 2>/dev/null

snapshot | sort > "$scratch/before"
mkdir -p "$scratch/backup"
for k in /lib/modules/*/; do
	mkdir -p "$scratch/backup/$k"
	cp -a "$k"modules.* "$scratch/backup/$k" 2>/dev/null
done
cp -a /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- \
	"$scratch/backup/" 2>/dev/null
had_group=$(getent group s2mmu)
had_mok=$(ls /var/lib/dkms/mok.* 2>/dev/null)
[ -z "$had_group" ] || s2_log "dkms: group s2mmu exists already; its tests may be weaker"

# Undo everything, whatever state a test left.  Idempotent.
restore() {
	local k p
	if dpkg-query -W -f='${Status}' s2mmu-dkms 2>/dev/null | grep -qv not-installed; then
		dpkg --purge s2mmu-dkms > /dev/null 2>&1
	fi
	[ ! -d /var/lib/dkms/s2mmu ] || dkms remove "s2mmu/$ver" --all > /dev/null 2>&1
	rm -rf /var/lib/dkms/s2mmu
	[ -n "$had_mok" ] || rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
	for k in $k61 $k612; do
		if [ -f "/var/lib/s2mmu/module-$k" ] && [ -d "$scratch/mi" ]; then
			make -s -C "$scratch/mi" KDIR="/usr/src/linux-headers-$k" \
				uninstall > /dev/null 2>&1
		fi
	done
	# What appeared under /lib/modules/*/, /usr/src and the rules
	# directories, deepest first; then depmod's files as they were.
	snapshot | sort > "$scratch/now"
	comm -13 <(cut -d' ' -f1 "$scratch/before" | sort -u) \
		<(cut -d' ' -f1 "$scratch/now" | sort -u) |
		grep -E '^/lib/modules/|^/usr/src/s2mmu-|^/var/lib/dkms/|^/var/lib/s2mmu|rules\.d/60-s2mmu\.rules$' |
		sort -r | while read -r p; do
			rm -rf "$p"
		done
	for k in "$scratch"/backup/lib/modules/*/; do
		cp -a "$k". "/lib/modules/${k#"$scratch"/backup/lib/modules/}" 2>/dev/null
	done
	if [ -z "$had_group" ] && getent group s2mmu > /dev/null; then
		groupdel s2mmu
	fi
	for p in passwd- group- shadow- gshadow-; do
		[ ! -f "$scratch/backup/$p" ] || cp -a "$scratch/backup/$p" /etc/
	done
	udevadm control --reload-rules 2> /dev/null || true
}
cleanup() {
	restore
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tree as DKMS and the package see it: the module's sources, the
# VERSION file, dkms.conf (and debian/, packaging/ for the package).
copy_tree() {
	local dest=$1
	shift
	mkdir -p "$dest"
	rsync -a --prune-empty-dirs \
		--exclude='/build/' --exclude='/.git/' --exclude='/tools/' \
		--exclude='/tests/' --exclude='/scripts/' \
		--exclude='/Documentation/' --exclude='*.mod.c' \
		--include='*/' --include='/Kbuild' --include='*.c' \
		--include='*.h' --include='/dkms.conf' --include='/VERSION' \
		"$@" --exclude='*' "$S2MMU_TOP/" "$dest/"
}

t_version() {
	local conf deb
	# As dkms reads it: sourced by bash (without -u).
	conf=$(bash -c '. "$1" && echo "$PACKAGE_VERSION"' _ "$S2MMU_TOP/dkms.conf")
	deb=$(dpkg-parsechangelog -l "$S2MMU_TOP/debian/changelog" -S Version)
	echo "VERSION $ver, dkms.conf $conf, debian/changelog $deb"
	[ "$conf" = "$ver" ] && [ "${deb%-*}" = "$ver" ]
}

t_refuse() {
	local src=$scratch/refuse fake=$scratch/fake-kdir out rc
	copy_tree "$src"
	for opt in CONFIG_64BIT CONFIG_MMU_NOTIFIER; do
		out=$(make -C "/usr/src/linux-headers-$k612" M="$src" "$opt=" \
			modules 2>&1)
		echo "$out" | grep -F "Kbuild:" || fail "no Kbuild message for !$opt"
		echo "$out" | grep -q 'error:' && fail "compile errors for !$opt"
	done
	# A kernel outside BUILD_EXCLUSIVE_KERNEL, and one whose .config has
	# no MMU_NOTIFIER (BUILD_EXCLUSIVE_CONFIG): skipped, status 77.
	dkms add "$src" > /dev/null || fail "dkms add"
	dkms build "s2mmu/$ver" -k 5.10.0-0-amd64 \
		--kernelsourcedir="/usr/src/linux-headers-$k612"
	rc=$?
	[ $rc = 77 ] || fail "kernel 5.10: dkms build status $rc, not 77"
	mkdir -p "$fake"
	grep -v '^CONFIG_MMU_NOTIFIER=' "/usr/src/linux-headers-$k612/.config" \
		> "$fake/.config"
	dkms build "s2mmu/$ver" -k 6.12.0-0-amd64 --kernelsourcedir="$fake"
	rc=$?
	[ $rc = 77 ] || fail "no MMU_NOTIFIER: dkms build status $rc, not 77"
	dkms remove "s2mmu/$ver" --all > /dev/null
	rm -rf "/usr/src/s2mmu-$ver"
}

# What an s2mmu installed by DKMS for the amd64 kernel KVER must be,
# however it got there: installed in dkms status, in updates/dkms,
# modinfo (name, version, vermagic), found by depmod, no test_ knobs.
# The module is kept in $log/KVER/ (the QEMU boot loads the 6.12 one).
check_installed() {
	local k=$1 ko v
	dkms status s2mmu
	dkms status "s2mmu/$ver" -k "$k" | grep -q ': installed' ||
		fail "dkms status: not installed for $k"
	ko=$(ls /lib/modules/"$k"/updates/dkms/s2mmu.ko* 2>/dev/null)
	[ -n "$ko" ] || fail "no /lib/modules/$k/updates/dkms/s2mmu.ko*"
	modinfo "$ko"
	[ "$(modinfo -F name "$ko")" = s2mmu ] || fail "modinfo name"
	v=$(modinfo -F version "$ko")
	[ "$v" = "$ver" ] || fail "modinfo version '$v', not $ver"
	modinfo -F vermagic "$ko" | grep -q "^$k " || fail "vermagic not $k"
	[ "$(modinfo -k "$k" -n s2mmu)" = "$ko" ] ||
		fail "modprobe -S $k would not find $ko (depmod)"
	modinfo -F parm "$ko" | grep test_ && fail "test knobs in the installed module"
	# Kept for the QEMU boot and for a look afterwards.
	rm -rf "${log:?}/$k"
	mkdir -p "$log/$k"
	cp "$ko" "$log/$k/"
}

# dkms build + install for one amd64 kernel, as README.md's DKMS steps.
t_dkms_kernel() {
	local k=$1
	dkms build "s2mmu/$ver" -k "$k" || build_fail "dkms build -k $k"
	dkms install "s2mmu/$ver" -k "$k" || fail "dkms install -k $k"
	check_installed "$k"
}

# The rebuild for a new kernel (AUTOINSTALL in dkms.conf): no dkms
# build or install, only the hook linux-headers-KVER's postinst runs,
# as it runs it (linux-run-hooks: run-parts --arg=KVER with
# DEB_MAINT_PARAMS).  Debian 12's hook execs dkms_autoinstaller start
# KVER: dkms autoinstall --kernelver KVER, which builds and installs
# every module of the DKMS tree not installed for KVER yet.  The
# image's hook (postinst.d/dkms) is the same script; the image's
# initramfs-tools hook is not run here, and this hook updates no
# initramfs (dkms 3.0.10 has no REMAKE_INITRD): checked, with all it
# wrote.
t_dkms_autoinstall() {
	local k=$1 hook=/etc/kernel/header_postinst.d/dkms m others='' p bad=0
	[ -x "$hook" ] || fail "no $hook"
	[ ! -e /etc/dkms/no-autoinstall ] ||
		fail "/etc/dkms/no-autoinstall: autoinstall disabled on this machine"
	# Another module of the tree would be built too, and stay.
	for m in $(dkms status | sed -n 's|^\([^/,:]*\)/.*|\1|p' | sort -u); do
		[ "$m" = s2mmu ] && continue
		dkms status "$m" -k "$k" | grep -q ': installed' || others+=" $m"
	done
	[ -z "$others" ] || fail "the hook would build$others for $k too"
	# Added only ("s2mmu/VERSION: added"), as after dkms add.
	dkms status "s2mmu/$ver" -k "$k" | grep -F ", $k, " &&
		fail "s2mmu already built for $k before the hook"
	touch "$scratch/hook-stamp"
	DEB_MAINT_PARAMS=configure "$hook" "$k" || build_fail "$hook $k: status $?"
	# What the hook wrote: the module's DKMS tree, the module and
	# depmod's files for KVER (the MOK key at a first signing), no
	# initramfs, nothing else.
	find /boot /etc /lib/modules /usr/src /var/lib/dkms \
		/var/lib/initramfs-tools -xdev -newer "$scratch/hook-stamp" \
		2>/dev/null | sort > "$scratch/hook-wrote"
	while read -r p; do
		echo "the hook wrote $p"
		case $p in
		/var/lib/dkms/s2mmu | /var/lib/dkms/s2mmu/*) ;;
		/var/lib/dkms/mok.key | /var/lib/dkms/mok.pub) ;;
		"/lib/modules/$k" | "/lib/modules/$k/modules."*) ;;
		"/lib/modules/$k/updates" | "/lib/modules/$k/updates/dkms") ;;
		"/lib/modules/$k/updates/dkms/s2mmu.ko"*) ;;
		*) echo "  not s2mmu's"; bad=1 ;;
		esac
	done < "$scratch/hook-wrote"
	[ "$bad" = 0 ] || fail "the hook wrote outside s2mmu's files"
	check_installed "$k"
}

t_dkms_arm64() {
	local ko raw=$scratch/arm64.ko
	[ -d "$kdir_arm" ] || fail "$kdir_arm missing: run scripts/deps.sh"
	dkms build "s2mmu/$ver" -k "$karm" -a aarch64 \
		--kernelsourcedir="$kdir_arm" || build_fail "dkms build -k $karm -a aarch64"
	ko=$(ls /var/lib/dkms/s2mmu/"$ver"/"$karm"/aarch64/module/s2mmu.ko* 2>/dev/null)
	[ -n "$ko" ] || fail "no arm64 module in the DKMS tree"
	case "$ko" in
	*.xz) xz -dc "$ko" > "$raw" ;;
	*) cp "$ko" "$raw" ;;
	esac
	readelf -h "$raw" | grep -q 'Machine: *AArch64' || fail "not an AArch64 module"
	modinfo -F vermagic "$raw" | grep -q "^$karm " || fail "vermagic not $karm"
	[ "$(modinfo -F version "$raw")" = "$ver" ] || fail "version"
	modinfo -F parm "$raw" | grep test_ && fail "test knobs in the module"
	# Kept for S2MMU_DKMS_ARM64_BOOT=1 and for a look afterwards.
	rm -rf "${log:?}/$karm"
	mkdir -p "$log/$karm"
	cp "$raw" "$log/$karm/s2mmu.ko"
}

t_dkms_remove() {
	dkms remove "s2mmu/$ver" --all || fail "dkms remove"
	[ ! -e /var/lib/dkms/s2mmu ] || fail "/var/lib/dkms/s2mmu left"
	! ls /lib/modules/*/updates/dkms/s2mmu.ko* 2>/dev/null ||
		fail "modules left"
	# dkms add copied the tree there; dkms remove keeps it (a
	# package's files), as documented: ours to delete.
	[ -d "/usr/src/s2mmu-$ver" ] || fail "/usr/src/s2mmu-$ver gone?"
	rm -rf "/usr/src/s2mmu-$ver"
	! ls -d /usr/src/s2mmu-* 2>/dev/null || fail "/usr/src/s2mmu-* left"
}

# make install for 6.1 then 6.12 (one has headers only, the other
# depmod files of its own), make uninstall in the same order: the rule
# and the group stay while a kernel still has the module, and each
# kernel's /lib/modules is back as it was (depmod's files included).
t_make_install() {
	local mi=$scratch/mi k ko
	copy_tree "$mi" --include='/Makefile' --include='/packaging/***'
	for k in $k61 $k612; do
		mi_listing "$k" > "$scratch/mi-before-$k"
		# One job per CPU, as the other builds of make check.
		make -j"$(nproc)" -C "$mi" KDIR="/usr/src/linux-headers-$k" \
			install || fail "make install ($k)"
		ko=$(ls /lib/modules/"$k"/updates/s2mmu.ko* 2>/dev/null)
		[ -n "$ko" ] || fail "no module for $k"
		[ "$(modinfo -k "$k" -n s2mmu)" = "$ko" ] || fail "depmod ($k)"
		[ "$(modinfo -k "$k" -F version s2mmu)" = "$ver" ] ||
			fail "modinfo version ($k)"
		modinfo -k "$k" -F vermagic s2mmu | grep -q "^$k " ||
			fail "vermagic not $k"
	done
	ls -l /lib/modules/*/updates/ /etc/udev/rules.d/60-s2mmu.rules
	cmp "$S2MMU_TOP/packaging/udev/60-s2mmu.rules" /etc/udev/rules.d/60-s2mmu.rules ||
		fail "rule"
	getent group s2mmu || fail "no group s2mmu"
	for k in $k61 $k612; do
		make -C "$mi" KDIR="/usr/src/linux-headers-$k" uninstall ||
			fail "make uninstall ($k)"
		modinfo -k "$k" s2mmu 2>/dev/null && fail "depmod still finds s2mmu ($k)"
		mi_listing "$k" | diff -u "$scratch/mi-before-$k" - ||
			fail "/lib/modules/$k not as before make install"
		if [ "$k" = "$k61" ]; then
			[ -e /etc/udev/rules.d/60-s2mmu.rules ] ||
				fail "rule removed while $k612 has the module"
			getent group s2mmu > /dev/null ||
				fail "group removed while $k612 has the module"
		fi
	done
	[ ! -e /etc/udev/rules.d/60-s2mmu.rules ] || fail "rule left"
	[ ! -e /var/lib/s2mmu ] || fail "/var/lib/s2mmu left"
	[ -n "$had_group" ] || ! getent group s2mmu || fail "group left"
	return 0
}

# mi_listing KVER: /lib/modules/KVER's files but kernel/ (dpkg's), with
# the sums of depmod's.
mi_listing() {
	local d=/lib/modules/$1
	[ -d "$d" ] || return 0
	find "$d" -path "$d/kernel" -prune -o -printf '%p %y %m\n' | sort
	sha256sum "$d"/modules.* 2>/dev/null
}

deb=$scratch/deb/s2mmu-dkms_${ver}_all.deb
t_deb_build() {
	local src=$scratch/deb/s2mmu-$ver
	copy_tree "$src" --include='/debian/***' --include='/packaging/***'
	(cd "$src" && dpkg-buildpackage -us -uc -b) || fail "dpkg-buildpackage"
	[ -f "$deb" ] || fail "no $deb"
	dpkg-deb -I "$deb"
	dpkg-deb -c "$deb" | tee "$scratch/deb.list"
	for f in "usr/src/s2mmu-$ver/dkms.conf" "usr/src/s2mmu-$ver/Kbuild" \
		"usr/src/s2mmu-$ver/VERSION" "usr/src/s2mmu-$ver/mmu/main.c" \
		lib/udev/rules.d/60-s2mmu.rules; do
		grep -q " \./$f\$" "$scratch/deb.list" || fail "$f not in the package"
	done
}

t_deb_install() {
	local k ks
	[ -f "$deb" ] || fail "no package"
	dpkg -i "$deb" || fail "dpkg -i"
	dkms status s2mmu
	# dkms's common.postinst builds for the running kernel and the
	# newest one when the running kernel is installed, else (a
	# container, a chroot) for every kernel in /lib/modules.
	ks=$k612
	[ -d "/lib/modules/$(uname -r)" ] || ks="$k61 $k612"
	for k in $ks; do
		dkms status "s2mmu/$ver" -k "$k" | grep -q ': installed' ||
			fail "not installed for $k"
		ls /lib/modules/"$k"/updates/dkms/s2mmu.ko* || fail "no module for $k"
	done
	getent group s2mmu || fail "no group s2mmu"
	[ -f /lib/udev/rules.d/60-s2mmu.rules ] || fail "no udev rule"
}

t_deb_purge() {
	dpkg --purge s2mmu-dkms || fail "dpkg --purge"
	dpkg-query -W -f='${Status}\n' s2mmu-dkms 2>/dev/null | grep -q installed &&
		fail "still known to dpkg"
	[ ! -e /var/lib/dkms/s2mmu ] || fail "/var/lib/dkms/s2mmu left"
	! ls -d /usr/src/s2mmu-* /lib/modules/*/updates/dkms/s2mmu.ko* \
		/lib/udev/rules.d/60-s2mmu.rules /var/lib/s2mmu-dkms 2>/dev/null ||
		fail "files left"
	[ -n "$had_group" ] || ! getent group s2mmu || fail "group left"
	return 0
}

# The DKMS-built 6.12 module (kept in $log/KVER/) in QEMU, with the
# udev rule applied by udevadm in the guest; console in $log/qemu.
t_qemu() {
	local ko clog
	ko=$(ls "$log/$k612"/s2mmu.ko* 2>/dev/null | head -n 1)
	[ -n "$ko" ] || fail "no DKMS-built 6.12 module kept"
	S2MMU_BUILD=$log/qemu S2MMU_RESULTS='' bash "$S2MMU_TOP/tests/qemu/run.sh" \
		--module "$ko" --udev "$S2MMU_TOP/packaging/udev/60-s2mmu.rules" \
		--filter vm_test,devperm_test x86_64-6.12 || fail "run.sh"
	# Without \r, in a file: `tr | grep -q` fails under pipefail when
	# grep has its match before tr has written all (SIGPIPE, 141).
	clog=$log/qemu/console-test.txt
	tr -d '\r' < "$log/qemu/x86_64-6.12/console-test.log" > "$clog"
	grep -E '^S2MMU-UDEV|GROUP|MODE|permissions' "$clog"
	grep -qx 'S2MMU-UDEV-BEFORE root:root 660' "$clog" ||
		fail "node not root:root 0660 before the rule"
	grep -qx 'S2MMU-UDEV-AFTER root:s2mmu 660' "$clog" ||
		fail "the rule did not give /dev/s2mmu to s2mmu, 0660"
	grep -q 'ok [0-9]* devperm.outsider_gets_eacces' "$clog" ||
		fail "devperm_test did not run"
}

# S2MMU_DKMS_ARM64_BOOT=1: the DKMS-built arm64 module in QEMU too,
# vm_test against it.  Not in make check by default: it is one more
# arm64 boot (TCG; 30 s measured, 18 s of it QEMU), and the arm64
# selftests boot needs the test flavour's knobs, so it cannot load this
# module instead.
t_qemu_arm64() {
	local ko=$log/$karm/s2mmu.ko
	[ -f "$ko" ] || fail "no DKMS-built arm64 module kept"
	S2MMU_BUILD=$log/qemu S2MMU_RESULTS='' bash "$S2MMU_TOP/tests/qemu/run.sh" \
		--module "$ko" --filter vm_test arm64-6.12 || fail "run.sh"
}

t0=$SECONDS
ck dkms:version t_version
ck dkms:refuse-config t_refuse
# The sources DKMS builds, put where README.md's DKMS steps put them,
# with its `cp -r` line: a file the module needs that the README leaves
# out fails the DKMS builds below.
readme_add() {
	local files
	files=$(sed -n 's|^    cp -r \(.*\) /usr/src/s2mmu-\$v/$|\1|p' \
		"$S2MMU_TOP/README.md")
	[ -n "$files" ] || { echo "no cp -r line in README.md"; return 1; }
	echo "README.md: cp -r $files /usr/src/s2mmu-$ver/"
	mkdir "/usr/src/s2mmu-$ver" || return 1
	# shellcheck disable=SC2086
	(cd "$S2MMU_TOP" && cp -r $files "/usr/src/s2mmu-$ver/") || return 1
	dkms add "s2mmu/$ver"
}
# The modules a run keeps are this run's: none from an earlier run for
# the QEMU boot to load when the test that keeps it fails.
rm -rf "${log:?}/$k61" "${log:?}/$k612" "${log:?}/$karm"
if readme_add > "$log/add.log" 2>&1; then
	ck "dkms:$k61" t_dkms_kernel "$k61"
	ck "dkms:autoinstall-$k612" t_dkms_autoinstall "$k612"
	ck "dkms:arm64-$karm" t_dkms_arm64
	ck dkms:remove t_dkms_remove
else
	cat "$log/add.log"
	res FAIL "dkms:add"
fi
ck make-install t_make_install
ck deb:build t_deb_build
ck deb:install t_deb_install
ck deb:purge t_deb_purge
restore
snapshot | sort > "$scratch/after"
if diff -u "$scratch/before" "$scratch/after" > "$log/restored.diff"; then
	res PASS dkms:machine-restored
else
	cat "$log/restored.diff"
	res FAIL dkms:machine-restored
fi
s2_log "dkms: packaging tests on the host: $((SECONDS - t0)) s"
ck dkms:qemu-x86_64-6.12 t_qemu
[ "${S2MMU_DKMS_ARM64_BOOT:-0}" = 0 ] || ck dkms:qemu-arm64-6.12 t_qemu_arm64
s2_log "dkms: $((SECONDS - t0)) s in all"
exit $failed
