// SPDX-License-Identifier: GPL-2.0
/*
 * The one unit that defines s2mmu's tracepoints (include/s2mmu_trace.h):
 * it calls nothing, so it is the lowest layer.
 */
#define CREATE_TRACE_POINTS
#include "s2mmu_trace.h"
