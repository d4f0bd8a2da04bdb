/* SPDX-License-Identifier: MIT */
/*
 * Duplex pipe throughput against a plain memcpy ring with the same chunking.
 *
 * A: gale_duplex with a 64 KiB ring; the writer polls 64 KiB writes until GALE_PENDING,
 *    then the reader polls 64 KiB reads until GALE_PENDING, through the public
 *    gale_async_write_poll / gale_async_read_poll wrappers (hand-driven, no executor).
 * B: the reference: the same loop over a bare 64 KiB ring (head + length, at most two
 *    memcpy calls per transfer, no calls, no wakers, no checks).
 * Each run moves --bytes (default 1 GiB, rounded up to whole 64 KiB transfers). A and B
 * alternate A B A B for --rounds rounds (default 5) so drift (frequency scaling, noisy
 * neighbours) hits both; the medians of each and the median of the per-round ratios A/B
 * are printed, then the same as "@bench" rows (bench_report.h). Goal: ratio >= 0.95.
 * --only gale|memcpy runs one side (for callgrind: scripts/bench.sh counts instructions
 * per transfer from two sizes, so setup cancels out). --chunk N (a divisor of 64 KiB)
 * changes the transfer size: at 64 bytes the copies are small and the count shows the
 * bookkeeping per write + read rather than memcpy.
 *
 *   cmake --preset bench && cmake --build --preset bench && ./build/bench/bench/bench_duplex
 *   valgrind --tool=callgrind ./build/bench/bench/bench_duplex --only gale --bytes 16M \
 *       --rounds 1
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/async_io.h>
#include <gale/duplex.h>
#include <gale/error.h>

#include "bench_report.h"

enum {
	RING_SIZE = 64 * 1024,  /* Both the duplex ring and the reference ring. */
	CHUNK_SIZE = 64 * 1024, /* Default bytes per write and per read (--chunk), and max. */
	ROUNDS_DEFAULT = 5,     /* A B pairs. */
};

struct bench_options {
	uint64_t bytes;   /* Moved per run: a multiple of chunk. */
	size_t chunk;     /* Bytes per write and per read, 1..CHUNK_SIZE. */
	int rounds;       /* A B pairs, at most BENCH_SAMPLES_MAX. */
	const char *only; /* "gale", "memcpy" or NULL for both. */
};

struct bench_buffers {
	size_t chunk;  /* Bytes per write and per read. */
	uint8_t *src;  /* CHUNK_SIZE bytes of pattern, the writer's source. */
	uint8_t *dst;  /* CHUNK_SIZE bytes, the reader's destination. */
	uint64_t sink; /* Folds a byte of every read so nothing is optimised away. */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A: moves total bytes through the duplex; returns seconds. */
static double run_duplex(struct bench_buffers *buffers, uint64_t total)
{
	struct gale_duplex duplex;
	if (gale_duplex_init(&duplex, RING_SIZE, NULL) != 0) {
		fprintf(stderr, "bench_duplex: gale_duplex_init failed\n");
		exit(1);
	}
	struct gale_async_write writer = gale_duplex_end_writer(&duplex, 0);
	struct gale_async_read reader = gale_duplex_end_reader(&duplex, 1);
	struct gale_cx cx = {gale_waker_none()};
	uint64_t moved = 0;
	double start = now_seconds();
	while (moved < total) {
		size_t n = 0;
		while (gale_async_write_poll(writer, &cx, buffers->src, buffers->chunk, &n) == 0)
			;
		struct gale_read_buf rb;
		for (;;) {
			gale_read_buf_init(&rb, buffers->dst, buffers->chunk);
			if (gale_async_read_poll(reader, &cx, &rb) != 0)
				break;
			moved += rb.len_filled;
			buffers->sink += buffers->dst[rb.len_filled - 1];
		}
	}
	double seconds = now_seconds() - start;
	gale_duplex_deinit(&duplex);
	return seconds;
}

/* The reference ring. */
struct ring {
	uint8_t *buf; /* RING_SIZE bytes. */
	size_t head;  /* First buffered byte. */
	size_t len;   /* Buffered bytes. */
};

static size_t ring_write(struct ring *ring, const uint8_t *src, size_t len)
{
	size_t n = RING_SIZE - ring->len < len ? RING_SIZE - ring->len : len;
	size_t tail = (ring->head + ring->len) % RING_SIZE;
	size_t first = RING_SIZE - tail < n ? RING_SIZE - tail : n;
	memcpy(ring->buf + tail, src, first);
	memcpy(ring->buf, src + first, n - first);
	ring->len += n;
	return n;
}

static size_t ring_read(struct ring *ring, uint8_t *dst, size_t len)
{
	size_t n = ring->len < len ? ring->len : len;
	size_t first = RING_SIZE - ring->head < n ? RING_SIZE - ring->head : n;
	memcpy(dst, ring->buf + ring->head, first);
	memcpy(dst + first, ring->buf, n - first);
	ring->head = (ring->head + n) % RING_SIZE;
	ring->len -= n;
	if (ring->len == 0)
		ring->head = 0;
	return n;
}

/* B: moves total bytes through the bare ring with the same write/read pattern. */
static double run_memcpy(struct bench_buffers *buffers, uint64_t total)
{
	struct ring ring = {malloc(RING_SIZE), 0, 0};
	if (ring.buf == NULL) {
		fprintf(stderr, "bench_duplex: out of memory\n");
		exit(1);
	}
	uint64_t moved = 0;
	double start = now_seconds();
	while (moved < total) {
		while (ring_write(&ring, buffers->src, buffers->chunk) != 0)
			;
		size_t n;
		while ((n = ring_read(&ring, buffers->dst, buffers->chunk)) != 0) {
			moved += n;
			buffers->sink += buffers->dst[n - 1];
		}
	}
	double seconds = now_seconds() - start;
	free(ring.buf);
	return seconds;
}

/* A count with an optional K, M or G suffix (powers of 1024); 0 when malformed. */
static uint64_t parse_size(const char *text)
{
	char *end = NULL;
	unsigned long long value = strtoull(text, &end, 10);
	if (end == text)
		return 0;
	switch (*end) {
	case 'K': value <<= 10; end++; break;
	case 'M': value <<= 20; end++; break;
	case 'G': value <<= 30; end++; break;
	default: break;
	}
	return *end == '\0' ? value : 0;
}

static void usage(const char *program)
{
	fprintf(stderr, "usage: %s [--bytes N[K|M|G]] [--chunk N[K], divides 64K] [--rounds N<=%d]"
		" [--only gale|memcpy]\n", program, BENCH_SAMPLES_MAX);
	exit(2);
}

static struct bench_options options_parse(int argc, char **argv)
{
	struct bench_options options = {.bytes = 1ull << 30, .chunk = CHUNK_SIZE,
					.rounds = ROUNDS_DEFAULT};
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage(argv[0]);
		if (strcmp(argv[i], "--bytes") == 0)
			options.bytes = parse_size(argv[i + 1]);
		else if (strcmp(argv[i], "--chunk") == 0)
			options.chunk = (size_t)parse_size(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			options.rounds = (int)parse_size(argv[i + 1]);
		else if (strcmp(argv[i], "--only") == 0)
			options.only = argv[i + 1];
		else
			usage(argv[0]);
	}
	if (options.bytes == 0 || options.chunk == 0 || RING_SIZE % options.chunk != 0 ||
	    options.rounds <= 0 || options.rounds > BENCH_SAMPLES_MAX ||
	    (options.only && strcmp(options.only, "gale") != 0 &&
	     strcmp(options.only, "memcpy") != 0))
		usage(argv[0]);
	options.bytes = (options.bytes + options.chunk - 1) / options.chunk * options.chunk;
	return options;
}

int main(int argc, char **argv)
{
	struct bench_options options = options_parse(argc, argv);
	uint64_t total = options.bytes;
	double gib = (double)total / (double)(1u << 30);
	bool gale_on = options.only == NULL || strcmp(options.only, "gale") == 0;
	bool memcpy_on = options.only == NULL || strcmp(options.only, "memcpy") == 0;
	struct bench_buffers buffers = {options.chunk, malloc(CHUNK_SIZE), malloc(CHUNK_SIZE), 0};
	if (buffers.src == NULL || buffers.dst == NULL)
		return 1;
	for (size_t i = 0; i < CHUNK_SIZE; i++)
		buffers.src[i] = (uint8_t)(i * 31 + 7);
	struct bench_series duplex_gibps = {0}, memcpy_gibps = {0}, ratios = {0};
	printf("bench_duplex: %.3f GiB per run, %d KiB ring, %zu-byte chunks, %d rounds A B\n",
	       gib, RING_SIZE / 1024, options.chunk, options.rounds);
	for (int round = 0; round < options.rounds; round++) {
		printf("round %d:", round + 1);
		if (gale_on) {
			double rate = gib / run_duplex(&buffers, total);
			if (memcmp(buffers.src, buffers.dst, options.chunk) != 0)
				return 1; /* The last chunk read must be the pattern. */
			memset(buffers.dst, 0, CHUNK_SIZE);
			bench_series_add(&duplex_gibps, rate);
			printf(" duplex %6.2f GiB/s", rate);
		}
		if (memcpy_on) {
			double rate = gib / run_memcpy(&buffers, total);
			if (memcmp(buffers.src, buffers.dst, options.chunk) != 0)
				return 1;
			memset(buffers.dst, 0, CHUNK_SIZE);
			bench_series_add(&memcpy_gibps, rate);
			printf("   memcpy ring %6.2f GiB/s", rate);
		}
		if (gale_on && memcpy_on) {
			bench_series_add(&ratios, duplex_gibps.sample[round] /
							  memcpy_gibps.sample[round]);
			printf("   ratio %.3f", ratios.sample[round]);
		}
		printf("\n");
	}
	if (gale_on && memcpy_on) {
		double ratio = bench_series_median(&ratios);
		printf("median: duplex %.2f GiB/s, memcpy ring %.2f GiB/s, ratio %.3f "
		       "(goal >= 0.95: %s)\n",
		       bench_series_median(&duplex_gibps), bench_series_median(&memcpy_gibps), ratio,
		       ratio >= 0.95 ? "met" : "MISSED");
	}
	printf("(checksum %llu)\n", (unsigned long long)buffers.sink);
	if (memcpy_on)
		bench_report_row("duplex throughput", "memcpy ring", "GiB/s", &memcpy_gibps, NULL,
				 NULL);
	if (gale_on)
		bench_report_row("duplex throughput", "gale", "GiB/s", &duplex_gibps,
				 memcpy_on ? &ratios : NULL, memcpy_on ? ">= 0.95" : NULL);
	free(buffers.src);
	free(buffers.dst);
	return 0;
}
