/* SPDX-License-Identifier: MIT */
/*
 * The simulator's one source of choices (sim/, below the sim driver and the fault driver):
 * a seeded xoshiro256** stream, or a libFuzzer byte stream that turns neutral when it ends.
 *
 * Sections: seed-mode generators, bytes-mode readers, the public choices.
 */
#include <assert.h>
#include <stdint.h>

#include <gale/entropy.h>

/* ---- Seed mode: SplitMix64 expands the seed, xoshiro256** draws (Blackman & Vigna). ---- */

static uint64_t splitmix64_next(uint64_t *state)
{
	*state += UINT64_C(0x9E3779B97F4A7C15);
	uint64_t z = *state;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t state[4])
{
	uint64_t result = rotl64(state[1] * 5, 7) * 9;
	uint64_t t = state[1] << 17;
	state[2] ^= state[0];
	state[3] ^= state[1];
	state[1] ^= state[2];
	state[0] ^= state[3];
	state[2] ^= t;
	state[3] = rotl64(state[3], 45);
	return result;
}

/*
 * A uniform value in [0, span) for 0 < span, by rejection: values below 2^64 mod span are
 * redrawn so that every residue is hit by the same number of raw values (no modulo bias).
 */
static uint64_t seed_below(struct gale_entropy *entropy, uint64_t span)
{
	assert(entropy->priv_bytes == NULL);
	assert(span > 0);
	uint64_t threshold = (0 - span) % span;
	for (;;) {
		uint64_t x = xoshiro_next(entropy->priv_state);
		if (x >= threshold)
			return x % span;
	}
}

/* ---- Bytes mode ---- */

static bool bytes_mode(const struct gale_entropy *entropy)
{
	return entropy->priv_bytes != NULL;
}

/* Reads up to count bytes little-endian; bytes past the end read as 0. */
static uint64_t bytes_take(struct gale_entropy *entropy, size_t count)
{
	assert(count >= 1 && count <= 8);
	assert(entropy->priv_bytes_pos <= entropy->priv_bytes_len);
	uint64_t value = 0;
	for (size_t i = 0; i < count; i++) {
		if (entropy->priv_bytes_pos == entropy->priv_bytes_len)
			break;
		uint64_t byte = entropy->priv_bytes[entropy->priv_bytes_pos++];
		value |= byte << (8 * i);
	}
	return value;
}

/* The fewest whole bytes (1, 2, 4 or 8) whose values cover [0, span]. */
static size_t bytes_for_span(uint64_t span)
{
	if (span <= UINT64_C(0xFF))
		return 1;
	if (span <= UINT64_C(0xFFFF))
		return 2;
	if (span <= UINT64_C(0xFFFFFFFF))
		return 4;
	return 8;
}

/*
 * A value in [0, span] (span = max - min). Bytes mode takes just enough bytes and reduces
 * modulo: a fuzzer needs every value reachable, not perfect uniformity.
 */
static uint64_t range_offset(struct gale_entropy *entropy, uint64_t span)
{
	if (span == 0)
		return 0;
	if (bytes_mode(entropy)) {
		if (gale_entropy_is_exhausted(entropy))
			return 0;
		uint64_t value = bytes_take(entropy, bytes_for_span(span));
		return span == UINT64_MAX ? value : value % (span + 1);
	}
	if (span == UINT64_MAX)
		return xoshiro_next(entropy->priv_state);
	return seed_below(entropy, span + 1);
}

/* ---- Public choices ---- */

void gale_entropy_init_seed(struct gale_entropy *entropy, uint64_t seed)
{
	assert(entropy != NULL);
	*entropy = (struct gale_entropy){0};
	uint64_t mix = seed;
	for (int i = 0; i < 4; i++)
		entropy->priv_state[i] = splitmix64_next(&mix);
	/* SplitMix64 is a bijection of its counter, so four zero outputs cannot happen. */
	assert((entropy->priv_state[0] | entropy->priv_state[1] | entropy->priv_state[2] |
		entropy->priv_state[3]) != 0);
}

void gale_entropy_init_bytes(struct gale_entropy *entropy, const uint8_t *bytes, size_t len)
{
	assert(entropy != NULL);
	assert(bytes != NULL || len == 0);
	*entropy = (struct gale_entropy){0};
	/* A non-NULL pointer marks bytes mode even for len 0 (every choice neutral then). */
	static const uint8_t empty[1] = {0};
	entropy->priv_bytes = len > 0 ? bytes : empty;
	entropy->priv_bytes_len = len;
}

uint64_t gale_entropy_u64(struct gale_entropy *entropy)
{
	assert(entropy != NULL);
	entropy->priv_draws_count++;
	if (bytes_mode(entropy))
		return bytes_take(entropy, 8);
	return xoshiro_next(entropy->priv_state);
}

/*
 * Ratio 0 (numerator or denominator 0) consumes nothing, so a fault switched off costs no
 * fuzz input. Bytes mode compares one byte with ceil(256 * ratio): 1/1 is always true
 * while bytes remain, and every nonzero ratio stays reachable (at least 1 in 256).
 */
bool gale_entropy_chance(struct gale_entropy *entropy, struct gale_ratio ratio)
{
	assert(entropy != NULL);
	entropy->priv_draws_count++;
	if (ratio.numerator == 0 || ratio.denominator == 0)
		return false;
	if (bytes_mode(entropy)) {
		if (gale_entropy_is_exhausted(entropy))
			return false;
		uint64_t scaled = (UINT64_C(256) * ratio.numerator + ratio.denominator - 1) /
				  ratio.denominator;
		return bytes_take(entropy, 1) < scaled;
	}
	if (ratio.numerator >= ratio.denominator) {
		(void)xoshiro_next(entropy->priv_state);
		return true;
	}
	return seed_below(entropy, ratio.denominator) < ratio.numerator;
}

uint64_t gale_entropy_range(struct gale_entropy *entropy, uint64_t min, uint64_t max)
{
	assert(entropy != NULL);
	assert(min <= max);
	entropy->priv_draws_count++;
	return min + range_offset(entropy, max - min);
}

/* Bits needed to write value (0 for 0). */
static unsigned bit_length(uint64_t value)
{
	unsigned bits = 0;
	while (value != 0) {
		bits++;
		value >>= 1;
	}
	return bits;
}

uint64_t gale_entropy_size(struct gale_entropy *entropy, uint64_t min, uint64_t max)
{
	assert(entropy != NULL);
	assert(min <= max);
	uint64_t span = max - min;
	if (!bytes_mode(entropy) || span <= UINT64_C(0xFF))
		return gale_entropy_range(entropy, min, max);
	entropy->priv_draws_count++;
	if (gale_entropy_is_exhausted(entropy))
		return min;
	/* Offsets of bit length k lie in [2^(k-1), 2^k - 1]; k == 0 is the offset 0. */
	unsigned bits = (unsigned)(bytes_take(entropy, 1) % (bit_length(span) + 1));
	if (bits == 0)
		return min;
	uint64_t low = UINT64_C(1) << (bits - 1);
	uint64_t high = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
	high = high < span ? high : span;
	return min + low + range_offset(entropy, high - low);
}

uint32_t gale_entropy_pick(struct gale_entropy *entropy, const uint32_t *weights, uint32_t count)
{
	assert(entropy != NULL);
	assert(weights != NULL && count > 0);
	uint64_t total = 0;
	for (uint32_t i = 0; i < count; i++)
		total += weights[i];
	assert(total > 0);
	entropy->priv_draws_count++;
	/* Walking the weights from the drawn offset maps the neutral offset 0 to the first
	 * index with a nonzero weight, so even the neutral answer respects the weights. */
	uint64_t offset = range_offset(entropy, total - 1);
	uint32_t index = 0;
	while (offset >= weights[index]) {
		offset -= weights[index];
		index++;
	}
	assert(index < count && weights[index] > 0);
	return index;
}

bool gale_entropy_is_exhausted(const struct gale_entropy *entropy)
{
	assert(entropy != NULL);
	return bytes_mode(entropy) && entropy->priv_bytes_pos >= entropy->priv_bytes_len;
}

uint64_t gale_entropy_draws_count(const struct gale_entropy *entropy)
{
	assert(entropy != NULL);
	return entropy->priv_draws_count;
}
