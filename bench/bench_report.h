/* SPDX-License-Identifier: MIT */
/*
 * One output format for every benchmark, so `make bench` (scripts/bench.sh) can print one
 * table: each figure is a series of per-round samples (A B A B ... alternation happens in
 * the benchmark), summarised as median, min and max; a contestant other than the reference
 * also carries its per-round ratios against the reference measured in the same round.
 *
 * Ratio convention: always "how good gale (or the peer) is relative to the reference",
 * so >= 1 is at least as good: value / reference for rates (MiB/s, round trips/s) and
 * reference / value for costs (us per round trip, ns per op). Memory rows carry
 * value / reference (lower is better) and say so in their unit.
 *
 * Row format (one line on stdout, tab-separated, starts with "@bench"):
 *   @bench figure contestant unit median min max ratio_median ratio_min ratio_max goal
 * Missing fields are "-". Human-readable text around the rows is free-form.
 */
#ifndef GALE_BENCH_REPORT_H
#define GALE_BENCH_REPORT_H

enum { BENCH_SAMPLES_MAX = 64 };

/* Per-round samples of one figure. */
struct bench_series {
	double sample[BENCH_SAMPLES_MAX];
	int count;
};

/* Appends one sample; samples past BENCH_SAMPLES_MAX are dropped. */
void bench_series_add(struct bench_series *series, double value);
/* Median (mean of the two middle samples for even counts); 0 when empty. */
double bench_series_median(const struct bench_series *series);
double bench_series_min(const struct bench_series *series);
double bench_series_max(const struct bench_series *series);

/*
 * Prints one "@bench" row. ratios is NULL for the reference contestant; goal is a short
 * text such as ">= 0.97" or NULL.
 */
void bench_report_row(const char *figure, const char *contestant, const char *unit,
		      const struct bench_series *values, const struct bench_series *ratios,
		      const char *goal);

#endif
