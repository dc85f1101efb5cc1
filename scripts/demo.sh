#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what `make demo` does.  Installs what is missing, builds
# s2mmu.ko for Debian's 6.12 x86_64 kernel, boots that kernel in QEMU
# with the module and runs the demo VMM (tools/s2mmu-demo.c), printing
# its output.  Set S2MMU_DEMO_TARGET=arm64-6.12 for the arm64 format on
# an arm64 guest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bash "$S2MMU_TOP/scripts/deps.sh"
bash "$S2MMU_TOP/tests/qemu/run.sh" --demo "${S2MMU_DEMO_TARGET:-x86_64-6.12}"
