// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the S2MMU_CREATE_VM argument parser (mmu/vm_config.c)
 * and the layout of the VM uAPI structures.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/stddef.h>

#include "s2mmu.h"

struct vm_type_case {
	const char *name;
	unsigned long arg;
	int ret;
	u32 type;
	u32 gpa_bits;
	u32 levels;
};

#define X86	S2MMU_VM_X86_TDP
#define ARM	S2MMU_VM_ARM64_S2
#define BITS(n)	S2MMU_VM_GPA_BITS(n)

static const struct vm_type_case vm_type_cases[] = {
	{ "x86 default",	X86,		0, X86, 48, 4 },
	{ "x86 48",		X86 | BITS(48),	0, X86, 48, 4 },
	{ "x86 57",		X86 | BITS(57),	0, X86, 57, 5 },
	{ "x86 47",		X86 | BITS(47),	-EINVAL },
	{ "x86 49",		X86 | BITS(49),	-EINVAL },
	{ "x86 56",		X86 | BITS(56),	-EINVAL },
	{ "x86 58",		X86 | BITS(58),	-EINVAL },
	{ "x86 40",		X86 | BITS(40),	-EINVAL },
	{ "x86 255",		X86 | BITS(255), -EINVAL },
	{ "arm64 default",	ARM,		0, ARM, 40, 4 },
	{ "arm64 31",		ARM | BITS(31),	-EINVAL },
	{ "arm64 32",		ARM | BITS(32),	0, ARM, 32, 3 },
	{ "arm64 36",		ARM | BITS(36),	0, ARM, 36, 3 },
	{ "arm64 39",		ARM | BITS(39),	0, ARM, 39, 3 },
	{ "arm64 40",		ARM | BITS(40),	0, ARM, 40, 4 },
	{ "arm64 42",		ARM | BITS(42),	0, ARM, 42, 4 },
	{ "arm64 44",		ARM | BITS(44),	0, ARM, 44, 4 },
	{ "arm64 48",		ARM | BITS(48),	0, ARM, 48, 4 },
	{ "arm64 49",		ARM | BITS(49),	-EINVAL },
	{ "arm64 57",		ARM | BITS(57),	-EINVAL },
	{ "type 0",		0,		-EINVAL },
	{ "type 0 48",		BITS(48),	-EINVAL },
	{ "type 3",		3,		-EINVAL },
	{ "type 255",		0xff,		-EINVAL },
	{ "x86 bit 16",		X86 | BIT(16),	-EINVAL },
	{ "x86 no NX huge",	X86 | S2MMU_VM_DISABLE_NX_HUGE_PAGES, 0, X86, 48, 4 },
	{ "arm64 no NX huge",	ARM | S2MMU_VM_DISABLE_NX_HUGE_PAGES, -EINVAL },
	/* UML has no MTE: refused for every type. */
	{ "arm64 MTE, no MTE host", ARM | S2MMU_VM_ARM64_MTE, -EINVAL },
	{ "x86 MTE",		X86 | S2MMU_VM_ARM64_MTE, -EINVAL },
	{ "arm64 bit 31",	ARM | BIT(31),	-EINVAL },
	{ "x86 top bit",	X86 | BIT(BITS_PER_LONG - 1), -EINVAL },
	{ "all ones",		~0UL,		-EINVAL },
};

static void vm_type_case_desc(const struct vm_type_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vm_type, vm_type_cases, vm_type_case_desc);

static void vm_config_parse_test(struct kunit *test)
{
	const struct vm_type_case *c = test->param_value;
	struct s2mmu_vm_config cfg = { .type = 0xdead, .gpa_bits = 0xbeef };
	int ret = s2mmu_parse_vm_type(c->arg, &cfg);

	KUNIT_ASSERT_EQ(test, ret, c->ret);
	if (ret) {
		/* A rejected argument leaves the output alone. */
		KUNIT_EXPECT_EQ(test, cfg.type, 0xdead);
		KUNIT_EXPECT_EQ(test, cfg.gpa_bits, 0xbeef);
		return;
	}
	KUNIT_EXPECT_EQ(test, cfg.type, c->type);
	KUNIT_EXPECT_EQ(test, cfg.gpa_bits, c->gpa_bits);
	KUNIT_EXPECT_EQ(test, cfg.levels, c->levels);
	KUNIT_EXPECT_EQ(test, cfg.nx_huge_pages_disabled,
			!!(c->arg & S2MMU_VM_DISABLE_NX_HUGE_PAGES));
	KUNIT_EXPECT_EQ(test, s2mmu_vm_config_max_gpa(&cfg),
			1ULL << c->gpa_bits);
}

/*
 * Every (type, width) byte pair against an independent statement of the
 * rules: the levels are the fewest 9-bit table levels covering
 * width - 12 bits, and the tables then span at least max_gpa.
 */
static void vm_config_sweep_test(struct kunit *test)
{
	unsigned int type, bits, valid = 0;

	for (type = 0; type < 256; type++) {
		for (bits = 0; bits < 256; bits++) {
			struct s2mmu_vm_config cfg;
			unsigned int want_bits = bits;
			bool ok;
			int ret;

			if (type == X86) {
				want_bits = bits ? bits : 48;
				ok = want_bits == 48 || want_bits == 57;
			} else if (type == ARM) {
				want_bits = bits ? bits : 40;
				ok = want_bits >= 32 && want_bits <= 48;
			} else {
				ok = false;
			}

			ret = s2mmu_parse_vm_type(type | BITS(bits), &cfg);
			KUNIT_ASSERT_EQ_MSG(test, ret, ok ? 0 : -EINVAL,
					    "type %u bits %u", type, bits);
			if (!ok)
				continue;
			valid++;
			KUNIT_ASSERT_EQ(test, cfg.type, type);
			KUNIT_ASSERT_EQ(test, cfg.gpa_bits, want_bits);
			/* levels covers the width, and one level fewer does not */
			KUNIT_ASSERT_GE(test, 12 + 9 * cfg.levels, want_bits);
			KUNIT_ASSERT_LT(test, 12 + 9 * (cfg.levels - 1), want_bits);
			KUNIT_ASSERT_EQ(test, s2mmu_vm_config_max_gpa(&cfg),
					1ULL << want_bits);
		}
	}
	/* x86: default, 48, 57; arm64: default, 32..48 */
	KUNIT_EXPECT_EQ(test, valid, 3 + 1 + 17);
}

/*
 * Any bit above the width field but a flag the type takes makes an
 * otherwise valid argument invalid.
 */
static void vm_config_stray_bits_test(struct kunit *test)
{
	static const unsigned long good[] = {
		X86, X86 | BITS(57), ARM, ARM | BITS(32), ARM | BITS(48),
	};
	struct s2mmu_vm_config cfg;
	unsigned int i, bit;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		KUNIT_ASSERT_EQ(test, s2mmu_parse_vm_type(good[i], &cfg), 0);
		for (bit = 16; bit < BITS_PER_LONG; bit++) {
			if (BIT(bit) == S2MMU_VM_DISABLE_NX_HUGE_PAGES &&
			    (good[i] & S2MMU_VM_TYPE_MASK) == X86)
				continue;
			KUNIT_EXPECT_EQ_MSG(test,
					    s2mmu_parse_vm_type(good[i] | BIT(bit), &cfg),
					    -EINVAL, "arg %#lx bit %u", good[i], bit);
		}
	}
}

/*
 * Every uAPI structure: fixed layout (the same for 32- and 64-bit
 * userspace), a multiple of 8 bytes, no implicit padding, and an ioctl
 * number that encodes its size.
 */
#define EXPECT_OFF(test, type, member, off) \
	KUNIT_EXPECT_EQ(test, offsetof(type, member), (size_t)(off))

static void uapi_layout_test(struct kunit *test)
{
	EXPECT_OFF(test, struct s2mmu_vm_info, type, 0);
	EXPECT_OFF(test, struct s2mmu_vm_info, gpa_bits, 4);
	EXPECT_OFF(test, struct s2mmu_vm_info, levels, 8);
	EXPECT_OFF(test, struct s2mmu_vm_info, nr_slots, 12);
	EXPECT_OFF(test, struct s2mmu_vm_info, max_gpa, 16);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_invalidations, 24);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_zaps, 32);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_remote_tlb_flushes, 40);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_table_pages, 48);
	KUNIT_EXPECT_EQ(test, S2MMU_VM_INFO_SIZE_V1, 56);
	EXPECT_OFF(test, struct s2mmu_vm_info, flags, 56);
	EXPECT_OFF(test, struct s2mmu_vm_info, pad, 60);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_nx_lpage_splits, 64);
	EXPECT_OFF(test, struct s2mmu_vm_info, stat_nx_lpage_recoveries, 72);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_vm_info), 80);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_GET_VM_INFO),
			sizeof(struct s2mmu_vm_info));
	KUNIT_EXPECT_EQ(test, _IOC_DIR(S2MMU_GET_VM_INFO), _IOC_READ);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_GET_VM_INFO_V1),
			S2MMU_VM_INFO_SIZE_V1);
	KUNIT_EXPECT_EQ(test, _IOC_NR(S2MMU_GET_VM_INFO_V1),
			_IOC_NR(S2MMU_GET_VM_INFO));

	EXPECT_OFF(test, struct s2mmu_memory_region, slot, 0);
	EXPECT_OFF(test, struct s2mmu_memory_region, flags, 4);
	EXPECT_OFF(test, struct s2mmu_memory_region, guest_phys_addr, 8);
	EXPECT_OFF(test, struct s2mmu_memory_region, memory_size, 16);
	EXPECT_OFF(test, struct s2mmu_memory_region, userspace_addr, 24);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_memory_region), 32);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_SET_MEMORY_REGION),
			sizeof(struct s2mmu_memory_region));

	EXPECT_OFF(test, struct s2mmu_access, gpa, 0);
	EXPECT_OFF(test, struct s2mmu_access, len, 8);
	EXPECT_OFF(test, struct s2mmu_access, uaddr, 16);
	EXPECT_OFF(test, struct s2mmu_access, op, 24);
	EXPECT_OFF(test, struct s2mmu_access, flags, 28);
	EXPECT_OFF(test, struct s2mmu_access, stride, 32);
	EXPECT_OFF(test, struct s2mmu_access, repeat, 40);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_access), 48);

	EXPECT_OFF(test, struct s2mmu_run, accesses, 0);
	EXPECT_OFF(test, struct s2mmu_run, nr_accesses, 8);
	EXPECT_OFF(test, struct s2mmu_run, flags, 12);
	EXPECT_OFF(test, struct s2mmu_run, exit_reason, 16);
	EXPECT_OFF(test, struct s2mmu_run, done, 24);
	EXPECT_OFF(test, struct s2mmu_run, mmio.gpa, 32);
	EXPECT_OFF(test, struct s2mmu_run, mmio.is_write, 48);
	EXPECT_OFF(test, struct s2mmu_run, memory_fault.flags, 32);
	EXPECT_OFF(test, struct s2mmu_run, memory_fault.size, 48);
	EXPECT_OFF(test, struct s2mmu_run, stat_faults, 96);
	EXPECT_OFF(test, struct s2mmu_run, stat_tlb_misses, 120);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_run), 128);
	KUNIT_EXPECT_LE(test, sizeof(struct s2mmu_run), PAGE_SIZE);

	EXPECT_OFF(test, struct s2mmu_pre_fault_memory, gpa, 0);
	EXPECT_OFF(test, struct s2mmu_pre_fault_memory, size, 8);
	EXPECT_OFF(test, struct s2mmu_pre_fault_memory, flags, 16);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_pre_fault_memory), 64);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_PRE_FAULT_MEMORY),
			sizeof(struct s2mmu_pre_fault_memory));
	KUNIT_EXPECT_EQ(test, _IOC_DIR(S2MMU_PRE_FAULT_MEMORY),
			_IOC_READ | _IOC_WRITE);

	EXPECT_OFF(test, struct s2mmu_invariants, leaves, 0);
	EXPECT_OFF(test, struct s2mmu_invariants, stale_tlb, 64);
	EXPECT_OFF(test, struct s2mmu_invariants, vcpus_skipped, 72);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_invariants), 128);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_CHECK_INVARIANTS),
			sizeof(struct s2mmu_invariants));

	EXPECT_OFF(test, struct s2mmu_translation, gpa, 0);
	EXPECT_OFF(test, struct s2mmu_translation, hpa, 8);
	EXPECT_OFF(test, struct s2mmu_translation, level, 16);
	EXPECT_OFF(test, struct s2mmu_translation, present, 20);
	EXPECT_OFF(test, struct s2mmu_translation, dirty, 24);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_translation), 32);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_TRANSLATE),
			sizeof(struct s2mmu_translation));

	/* KVM's struct kvm_arm_copy_mte_tags, field for field. */
	EXPECT_OFF(test, struct s2mmu_arm64_copy_mte_tags, guest_ipa, 0);
	EXPECT_OFF(test, struct s2mmu_arm64_copy_mte_tags, length, 8);
	EXPECT_OFF(test, struct s2mmu_arm64_copy_mte_tags, addr, 16);
	EXPECT_OFF(test, struct s2mmu_arm64_copy_mte_tags, flags, 24);
	EXPECT_OFF(test, struct s2mmu_arm64_copy_mte_tags, reserved, 32);
	KUNIT_EXPECT_EQ(test, sizeof(struct s2mmu_arm64_copy_mte_tags), 48);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(S2MMU_ARM64_MTE_COPY_TAGS),
			sizeof(struct s2mmu_arm64_copy_mte_tags));
	KUNIT_EXPECT_EQ(test, _IOC_DIR(S2MMU_ARM64_MTE_COPY_TAGS),
			(unsigned int)_IOC_READ);
}

static struct kunit_case vm_config_cases[] = {
	KUNIT_CASE_PARAM(vm_config_parse_test, vm_type_gen_params),
	KUNIT_CASE(vm_config_sweep_test),
	KUNIT_CASE(vm_config_stray_bits_test),
	KUNIT_CASE(uapi_layout_test),
	{}
};

static struct kunit_suite vm_config_suite = {
	.name = "s2mmu_vm_config",
	.test_cases = vm_config_cases,
};

kunit_test_suite(vm_config_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for s2mmu VM configuration parsing");
