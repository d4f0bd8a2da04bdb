/* SPDX-License-Identifier: MIT */
/*
 * The simulator's single source of choices, with two back ends:
 *   - a seeded PRNG (SplitMix64 expanding the seed into xoshiro256** state) for seed sweeps;
 *   - a byte stream (libFuzzer input): each choice consumes a few bytes; once the bytes run
 *     out every choice returns its NEUTRAL answer (chance -> false, range -> min,
 *     pick -> index 0), which by convention is the fault-free, no-delay, FIFO answer, so a
 *     run driven by a short input still terminates.
 * Ratios are integer fractions, never floats, so every run reproduces bit for bit.
 * Nothing here reads the clock, addresses or hash order. Thread affinity: one owner.
 */
#ifndef GALE_SIM_ENTROPY_H
#define GALE_SIM_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

/* numerator / denominator; denominator 0 means "never" (same as numerator 0). */
struct gale_ratio {
	uint32_t numerator;
	uint32_t denominator;
};

struct gale_entropy {
	/* Private: do not touch. */
	uint64_t priv_state[4];     /* xoshiro256** state (seed mode). */
	const uint8_t *priv_bytes;  /* Byte stream (bytes mode), borrowed. NULL in seed mode. */
	size_t priv_bytes_len;      /* Its length. */
	size_t priv_bytes_pos;      /* Bytes consumed. */
	uint64_t priv_draws_count;  /* Choices made (both modes). */
};

/** Seed mode. Every seed (0 included) gives a distinct, well-mixed stream. */
GALE_EXTERN void gale_entropy_init_seed(struct gale_entropy *entropy, uint64_t seed);

/**
 * Bytes mode. bytes is borrowed until the entropy is no longer used (it is not copied).
 * len may be 0: every choice is then neutral.
 */
GALE_EXTERN void gale_entropy_init_bytes(struct gale_entropy *entropy, const uint8_t *bytes,
					 size_t len);

/** 64 raw bits (bytes mode: up to 8 bytes, little-endian, missing bytes are 0). */
GALE_EXTERN uint64_t gale_entropy_u64(struct gale_entropy *entropy);

/**
 * True with probability ratio (exactly, in seed mode). Neutral: false. A zero ratio
 * consumes no entropy; in bytes mode any other ratio consumes one byte and is at least
 * 1/256 (so a fuzzer can reach every enabled fault).
 */
GALE_EXTERN bool gale_entropy_chance(struct gale_entropy *entropy, struct gale_ratio ratio);

/**
 * A uniform integer in [min, max] (requires min <= max: asserted, there is no error to
 * return). Neutral: min. min == max consumes nothing; bytes mode consumes 1, 2, 4 or 8
 * bytes, just enough for the span.
 */
GALE_EXTERN uint64_t gale_entropy_range(struct gale_entropy *entropy, uint64_t min, uint64_t max);

/**
 * A size in [min, max] (min <= max: asserted): with a seed exactly gale_entropy_range();
 * in bytes mode log-scaled, so that a fuzzer reaches small sizes as easily as large ones and
 * every value stays reachable: one byte picks a bit length (0..bits of max - min), the
 * next bytes a value of that length in the span. Neutral: min. Consumes nothing when
 * min == max, else 1 byte plus gale_entropy_range()'s bytes for the chosen length's span
 * (a span below 256 is drawn as by gale_entropy_range(): nothing to gain there).
 */
GALE_EXTERN uint64_t gale_entropy_size(struct gale_entropy *entropy, uint64_t min, uint64_t max);

/**
 * An index in [0, count) drawn with the given weights (count > 0, weights not all zero:
 * asserted, there is no error to return); an index whose weight is 0 is never returned.
 * Neutral: the first index with a nonzero weight (0 when weights[0] > 0).
 */
GALE_EXTERN uint32_t gale_entropy_pick(struct gale_entropy *entropy, const uint32_t *weights,
				       uint32_t count);

/** True in bytes mode once the input is used up (choices are now neutral). */
GALE_EXTERN bool gale_entropy_is_exhausted(const struct gale_entropy *entropy);

/** Choices made since init. */
GALE_EXTERN uint64_t gale_entropy_draws_count(const struct gale_entropy *entropy);

GALE_END_DECLS

#endif /* GALE_SIM_ENTROPY_H */
