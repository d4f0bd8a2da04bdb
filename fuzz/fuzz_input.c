/* SPDX-License-Identifier: MIT */
/* The fuzz input decoder: a neutral-when-empty byte cursor shared by every fuzz target. */
#include <assert.h>

#include "fuzz_input.h"

void fuzz_input_init(struct fuzz_input *input, const uint8_t *bytes, size_t len)
{
	assert(input != NULL);
	assert(bytes != NULL || len == 0);
	input->bytes = bytes;
	input->len = len;
	input->pos = 0;
}

bool fuzz_input_is_empty(const struct fuzz_input *input)
{
	assert(input != NULL);
	assert(input->pos <= input->len);
	return input->pos == input->len;
}

size_t fuzz_input_remaining(const struct fuzz_input *input)
{
	assert(input != NULL);
	assert(input->pos <= input->len);
	return input->len - input->pos;
}

uint8_t fuzz_input_u8(struct fuzz_input *input)
{
	assert(input != NULL);
	if (fuzz_input_is_empty(input))
		return 0;
	return input->bytes[input->pos++];
}

/* Reads count bytes little-endian; missing bytes read as 0. */
static uint64_t input_take(struct fuzz_input *input, size_t count)
{
	assert(count >= 1 && count <= 8);
	uint64_t value = 0;
	for (size_t i = 0; i < count && !fuzz_input_is_empty(input); i++)
		value |= (uint64_t)input->bytes[input->pos++] << (8 * i);
	return value;
}

uint64_t fuzz_input_range(struct fuzz_input *input, uint64_t min, uint64_t max)
{
	assert(input != NULL);
	assert(min <= max);
	uint64_t span = max - min;
	if (span == 0 || fuzz_input_is_empty(input))
		return min;
	size_t count = span <= 0xFF ? 1 : span <= 0xFFFF ? 2 : span <= 0xFFFFFFFFu ? 4 : 8;
	uint64_t value = input_take(input, count);
	return min + (span == UINT64_MAX ? value : value % (span + 1));
}

bool fuzz_input_bool(struct fuzz_input *input)
{
	return (fuzz_input_u8(input) & 1u) != 0;
}

uint32_t fuzz_input_pick(struct fuzz_input *input, const uint32_t *weights, uint32_t count)
{
	assert(input != NULL);
	assert(weights != NULL && count > 0);
	uint64_t total = 0;
	for (uint32_t i = 0; i < count; i++)
		total += weights[i];
	assert(total > 0);
	/* Walking from offset 0 lands on the first nonzero weight: the neutral answer. */
	uint64_t offset = fuzz_input_range(input, 0, total - 1);
	uint32_t index = 0;
	while (offset >= weights[index]) {
		offset -= weights[index];
		index++;
	}
	assert(index < count && weights[index] > 0);
	return index;
}

struct fuzz_input fuzz_input_split(struct fuzz_input *input, size_t len)
{
	assert(input != NULL);
	size_t remaining = fuzz_input_remaining(input);
	size_t taken = len < remaining ? len : remaining;
	struct fuzz_input part;
	fuzz_input_init(&part, taken > 0 ? input->bytes + input->pos : NULL, taken);
	input->pos += taken;
	return part;
}

struct fuzz_input fuzz_input_script(struct fuzz_input *input)
{
	size_t len = (size_t)fuzz_input_range(input, 0, UINT16_MAX);
	return fuzz_input_split(input, len);
}

const uint8_t *fuzz_input_rest(const struct fuzz_input *input, size_t *len_out)
{
	assert(input != NULL && len_out != NULL);
	*len_out = fuzz_input_remaining(input);
	return *len_out > 0 ? input->bytes + input->pos : NULL;
}

void fuzz_input_profile(struct fuzz_input *input, const enum gale_fault_kind *kinds,
			size_t kinds_count, const char *name,
			struct gale_fault_profile *profile_out)
{
	assert(input != NULL && profile_out != NULL);
	assert(kinds != NULL || kinds_count == 0);
	gale_fault_profile_fuzz_base(profile_out, name);
	for (size_t i = 0; i < kinds_count; i++) {
		assert(kinds[i] < GALE_FAULT_COUNT);
		profile_out->ratios[kinds[i]] = gale_fault_ratio_from_byte(fuzz_input_u8(input));
	}
}
