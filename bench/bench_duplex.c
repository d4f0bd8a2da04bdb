/* SPDX-License-Identifier: MIT */
/*
 * Duplex pipe throughput against a plain memcpy ring with the same chunking.
 *
 * A: gale_duplex with a 64 KiB ring; the writer polls 64 KiB writes until GALE_PENDING,
 *    then the reader polls 64 KiB reads until GALE_PENDING, through the public
 *    gale_async_write_poll / gale_async_read_poll wrappers (hand-driven, no executor).
 * B: the reference: the same loop over a bare 64 KiB ring (head + length, at most two
 *    memcpy calls per transfer, no calls, no wakers, no checks).
 * Each run moves GIB_DEFAULT GiB (argv[1] overrides). A and B alternate A B A B for 5
 * rounds so drift (frequency scaling, noisy neighbours) hits both; the medians of each and
 * the median of the per-round ratios A/B are printed. Goal: ratio >= 0.95.
 *
 *   cmake --preset bench && cmake --build --preset bench && ./build/bench/bench/bench_duplex
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/async_io.h>
#include <gale/duplex.h>
#include <gale/error.h>

enum {
	RING_SIZE = 64 * 1024,  /* Both the duplex ring and the reference ring. */
	CHUNK_SIZE = 64 * 1024, /* Bytes per write and per read. */
	ROUNDS = 5,             /* A B pairs. */
	GIB_DEFAULT = 1,        /* GiB moved per run. */
};

struct bench_buffers {
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
		while (gale_async_write_poll(writer, &cx, buffers->src, CHUNK_SIZE, &n) == 0)
			;
		struct gale_read_buf rb;
		for (;;) {
			gale_read_buf_init(&rb, buffers->dst, CHUNK_SIZE);
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
		while (ring_write(&ring, buffers->src, CHUNK_SIZE) != 0)
			;
		size_t n;
		while ((n = ring_read(&ring, buffers->dst, CHUNK_SIZE)) != 0) {
			moved += n;
			buffers->sink += buffers->dst[n - 1];
		}
	}
	double seconds = now_seconds() - start;
	free(ring.buf);
	return seconds;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double values[ROUNDS])
{
	double sorted[ROUNDS];
	memcpy(sorted, values, sizeof(sorted));
	qsort(sorted, ROUNDS, sizeof(sorted[0]), compare_doubles);
	return sorted[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : GIB_DEFAULT;
	uint64_t total = (gib == 0 ? 1 : gib) << 30;
	struct bench_buffers buffers = {malloc(CHUNK_SIZE), malloc(CHUNK_SIZE), 0};
	if (buffers.src == NULL || buffers.dst == NULL)
		return 1;
	for (size_t i = 0; i < CHUNK_SIZE; i++)
		buffers.src[i] = (uint8_t)(i * 31 + 7);
	double duplex_gibps[ROUNDS], memcpy_gibps[ROUNDS], ratios[ROUNDS];
	printf("bench_duplex: %llu GiB per run, %d KiB ring, %d KiB chunks, %d rounds A B\n",
	       (unsigned long long)(total >> 30), RING_SIZE / 1024, CHUNK_SIZE / 1024, ROUNDS);
	for (int round = 0; round < ROUNDS; round++) {
		duplex_gibps[round] = (double)(total >> 30) / run_duplex(&buffers, total);
		if (memcmp(buffers.src, buffers.dst, CHUNK_SIZE) != 0)
			return 1; /* The last chunk read must be the pattern. */
		memset(buffers.dst, 0, CHUNK_SIZE);
		memcpy_gibps[round] = (double)(total >> 30) / run_memcpy(&buffers, total);
		if (memcmp(buffers.src, buffers.dst, CHUNK_SIZE) != 0)
			return 1;
		ratios[round] = duplex_gibps[round] / memcpy_gibps[round];
		printf("round %d: duplex %6.2f GiB/s   memcpy ring %6.2f GiB/s   ratio %.3f\n",
		       round + 1, duplex_gibps[round], memcpy_gibps[round], ratios[round]);
	}
	double ratio = median(ratios);
	printf("median: duplex %.2f GiB/s, memcpy ring %.2f GiB/s, ratio %.3f (goal >= 0.95: %s)\n",
	       median(duplex_gibps), median(memcpy_gibps), ratio, ratio >= 0.95 ? "met" : "MISSED");
	printf("(checksum %llu)\n", (unsigned long long)buffers.sink);
	free(buffers.src);
	free(buffers.dst);
	return 0;
}
