// SPDX-License-Identifier: GPL-2.0
/* device.c: see device.h. */
#include <stdio.h>
#include <string.h>

#include "devsum.h"
#include "device.h"
#include "layout.h"

#define MAX_BUF_PAGES	64

static uint64_t get64(const uint8_t *mem, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, 8);
	return v;
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

int device_doorbell(uint8_t *mem, uint64_t mem_size, uint64_t desc_gpa, uint64_t *written,
		    char *why, size_t len)
{
	uint64_t magic, seq, buf, pages, result, s = DEV_SUM_INIT, i;

	if (desc_gpa % 8 || desc_gpa > mem_size - 8 * 5) {
		snprintf(why, len, "descriptor at gpa %#llx outside guest memory",
			 (unsigned long long)desc_gpa);
		return -1;
	}
	magic = get64(mem, desc_gpa + 8 * DESC_W_MAGIC);
	seq = get64(mem, desc_gpa + 8 * DESC_W_SEQ);
	buf = get64(mem, desc_gpa + 8 * DESC_W_BUF);
	pages = get64(mem, desc_gpa + 8 * DESC_W_PAGES);
	result = get64(mem, desc_gpa + 8 * DESC_W_RESULT);
	if (magic != DESC_MAGIC || buf % GUEST_PAGE_SIZE || !pages || pages > MAX_BUF_PAGES ||
	    buf > mem_size || pages * GUEST_PAGE_SIZE > mem_size - buf ||
	    result % 8 || result > mem_size - 16) {
		snprintf(why, len, "bad descriptor at gpa %#llx: magic %#llx, buffer %#llx + %llu "
			 "pages, result at %#llx", (unsigned long long)desc_gpa,
			 (unsigned long long)magic, (unsigned long long)buf,
			 (unsigned long long)pages, (unsigned long long)result);
		return -1;
	}
	for (i = 0; i < pages * GUEST_PAGE_SIZE; i += 8)
		s = dev_sum_step(s, get64(mem, buf + i));
	put64(mem, result + 8 * RES_W_SUM, s);
	/* The sequence number last: the guest reads the sum only after it anyway. */
	put64(mem, result + 8 * RES_W_SEQ, seq);
	*written = result & ~(uint64_t)(GUEST_PAGE_SIZE - 1);
	return 0;
}
