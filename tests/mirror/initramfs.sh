# SPDX-License-Identifier: GPL-2.0
# mirror-all's part of the QEMU initramfs; sourced by tests/qemu/run.sh
# (after scripts/lib.sh), used by `run.sh --mirror`.
#
# The selftests initramfs is busybox plus static binaries.  mirror-all
# runs dynamic programs under LD_PRELOAD, so its initramfs also gets the
# dynamic loader and every shared library they need (ldd), Debian's
# stress-ng, s2mmu_mirror.so and some of the kernel's mm selftests built
# from linux-source-6.12 against its own uapi headers (headers_install,
# cached).  x86_64 targets only: arm64 would need a dynamic arm64
# userspace (stress-ng:arm64 and its libraries) in the initramfs.

# The boot gets two NUMA nodes (for page migration: stress-ng --numa, the
# migration selftest); their sizes add up to the targets' -m 2G.  Both
# CPUs sit on node 0 (CPUs of one package on two nodes make the kernel
# warn in topology_sane()); node 1 is memory only.
S2MMU_MIRROR_QEMU=(
	-object memory-backend-ram,id=mem0,size=1G
	-object memory-backend-ram,id=mem1,size=1G
	-numa node,nodeid=0,cpus=0-1,memdev=mem0
	-numa node,nodeid=1,memdev=mem1
)

# The mm selftests mirror-all runs (tools/testing/selftests/mm/NAME.c).
S2MMU_MIRROR_MM="mkdirty mremap_test migration ksm_functional_tests cow"

# mirror_uapi_headers: linux-source-6.12's sanitized uapi headers (the
# mm selftests need newer ones than Debian 12's libc headers), installed
# once into the cache; prints the include directory.
mirror_uapi_headers() {
	local src dir
	src=$(s2_linux_src)
	dir=$S2MMU_CACHE/uapi-headers-$(s2_pkg_version linux-source-6.12)
	if [ ! -f "$dir/.s2mmu-done" ]; then
		s2_log "installing linux-source-6.12 uapi headers into $dir"
		rm -rf "$dir" "$dir.tmp"
		make -s -C "$src" O="$dir.tmp/build" ARCH=x86 headers_install \
			INSTALL_HDR_PATH="$dir.tmp/usr" >&2
		rm -rf "$dir.tmp/build"
		touch "$dir.tmp/.s2mmu-done"
		mv "$dir.tmp" "$dir"
	fi
	printf '%s\n' "$dir/usr/include"
}

# mirror_build OUT: s2mmu_mirror.so and the mm selftests into OUT (kept
# while newer than their sources).
mirror_build() {
	local out=$1 src mm hdr t
	mkdir -p "$out/mm"
	# libs2mmu inside the .so is hidden: it exports nothing into the
	# program it is preloaded into (only the interposed _exit()).
	gcc -c -fPIC -fvisibility=hidden -O2 -g -Wall -Wextra -Werror \
		-I"$S2MMU_TOP/include/uapi" -o "$out/libs2mmu.o" \
		"$S2MMU_TOP/tools/lib/libs2mmu.c"
	gcc -shared -fPIC -O2 -g -Wall -Wextra -Werror \
		-I"$S2MMU_TOP/include/uapi" -I"$S2MMU_TOP/tools/lib" \
		-o "$out/s2mmu_mirror.so" "$S2MMU_TOP/tests/mirror/s2mmu_mirror.c" \
		"$out/libs2mmu.o" -lpthread
	src=$(s2_linux_src)
	mm=$src/tools/testing/selftests/mm
	hdr=
	# No liburing: cow's io_uring cases are left out.
	echo '/* mirror-all: no liburing */' > "$out/mm/local_config.h"
	for t in $S2MMU_MIRROR_MM; do
		[ "$out/mm/$t" -nt "$mm/$t.c" ] && continue
		[ -n "$hdr" ] || hdr=$(mirror_uapi_headers)
		gcc -Wall -O2 -U_FORTIFY_SOURCE -isystem "$hdr" -I"$src" \
			-I"$out/mm" -I"$mm" -o "$out/mm/$t" "$mm/$t.c" \
			"$mm/vm_util.c" "$mm/thp_settings.c" \
			-lrt -lpthread -lm -lnuma
	done
}

# mirror_copy_elf ROOT FILE DEST: copy FILE to ROOT/DEST and every shared
# library it needs to the same path under ROOT.
mirror_copy_elf() {
	local root=$1 file=$2 dest=$3 lib
	mkdir -p "$root/$(dirname "$dest")"
	cp "$file" "$root/$dest"
	for lib in $(ldd "$file" | grep -o '/[^ ]*'); do
		[ -e "$root/$lib" ] && continue
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib"
	done
}

# mirror_initramfs TARGET ROOT: add mirror-all to the initramfs at ROOT.
mirror_initramfs() {
	local target=$1 root=$2 out t
	case "$target" in
	x86_64-*) ;;
	*) s2_die "mirror-all runs on x86_64 targets only, not $target" ;;
	esac
	command -v stress-ng >/dev/null ||
		s2_die "stress-ng missing: run scripts/deps.sh"
	out=$S2MMU_BUILD/mirror-x86_64
	mirror_build "$out"
	mkdir -p "$root/mirror"
	cp "$S2MMU_TOP/tests/mirror/run-mirror.sh" "$root/mirror/"
	chmod 755 "$root/mirror/run-mirror.sh"
	mirror_copy_elf "$root" "$out/s2mmu_mirror.so" mirror/s2mmu_mirror.so
	mirror_copy_elf "$root" "$(command -v stress-ng)" mirror/bin/stress-ng
	for t in $S2MMU_MIRROR_MM; do
		mirror_copy_elf "$root" "$out/mm/$t" "mirror/mm/$t"
	done
}
