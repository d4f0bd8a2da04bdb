/* SPDX-License-Identifier: MIT */
/*
 * The fuzz input decoder: a byte cursor that turns libFuzzer bytes into sizes, choices,
 * op scripts and fault profiles, deterministically.
 *
 * Layout convention of the targets (each documents its own fields):
 *   [header: modes, sizes, one byte per fault ratio] [u16 script length] [script]
 *   [the rest: the entropy of the simulator or the fault driver, bytes mode]
 * Every reader answers NEUTRALLY once the bytes run out (0, min, false, the first
 * choice), as gale_entropy does, so any prefix of an input is itself a valid input and a
 * run always terminates. Values take just enough bytes (1, 2, 4 or 8) for their span, so
 * libFuzzer's byte-level mutations map to small, local changes of the script.
 * No globals, no clock, no rand(): an input replays exactly.
 */
#ifndef GALE_FUZZ_FUZZ_INPUT_H
#define GALE_FUZZ_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/sim_profile.h>

struct fuzz_input {
	const uint8_t *bytes; /* The input, borrowed. */
	size_t len;           /* Its length. */
	size_t pos;           /* Bytes consumed. */
};

/* Points input at bytes[0, len) (borrowed while input is used). */
void fuzz_input_init(struct fuzz_input *input, const uint8_t *bytes, size_t len);

/* True once every byte was consumed (every reader is neutral from then on). */
bool fuzz_input_is_empty(const struct fuzz_input *input);

/* Bytes left. */
size_t fuzz_input_remaining(const struct fuzz_input *input);

/* One byte; 0 when empty. */
uint8_t fuzz_input_u8(struct fuzz_input *input);

/* A value in [min, max] (min <= max) from 1, 2, 4 or 8 bytes, reduced modulo the span;
 * min when empty; nothing consumed when min == max. */
uint64_t fuzz_input_range(struct fuzz_input *input, uint64_t min, uint64_t max);

/* The low bit of one byte; false when empty. */
bool fuzz_input_bool(struct fuzz_input *input);

/*
 * An index in [0, count) with the given weights (not all zero); an index of weight 0 is
 * never returned. Neutral: the first index with a nonzero weight.
 */
uint32_t fuzz_input_pick(struct fuzz_input *input, const uint32_t *weights, uint32_t count);

/*
 * Splits off the next len bytes (fewer when fewer remain) as their own cursor, so a
 * script and the entropy after it never steal each other's bytes.
 */
struct fuzz_input fuzz_input_split(struct fuzz_input *input, size_t len);

/*
 * Reads a u16 script length, then splits the script off (fuzz_input_split). What remains
 * in input afterwards is the entropy part.
 */
struct fuzz_input fuzz_input_script(struct fuzz_input *input);

/* The bytes not consumed yet (for gale_entropy_init_bytes); *len_out may be 0. */
const uint8_t *fuzz_input_rest(const struct fuzz_input *input, size_t *len_out);

/*
 * Fills profile_out with the "none" profile named name, then reads one byte per kind in
 * kinds[0, kinds_count): 0 leaves the fault off, b > 0 sets its ratio to b / 512 (up to
 * one chance in two per opportunity). Delays are set to small fixed bounds.
 */
void fuzz_input_profile(struct fuzz_input *input, const enum gale_fault_kind *kinds,
			size_t kinds_count, const char *name,
			struct gale_fault_profile *profile_out);

#endif /* GALE_FUZZ_FUZZ_INPUT_H */
