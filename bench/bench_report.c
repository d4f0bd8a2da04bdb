/* SPDX-License-Identifier: MIT */
#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_series_add(struct bench_series *series, double value)
{
	if (series->count < BENCH_SAMPLES_MAX)
		series->sample[series->count++] = value;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_series_median(const struct bench_series *series)
{
	double sorted[BENCH_SAMPLES_MAX];
	int n = series->count;

	if (n == 0)
		return 0;
	memcpy(sorted, series->sample, (size_t)n * sizeof sorted[0]);
	qsort(sorted, (size_t)n, sizeof sorted[0], compare_double);
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

double bench_series_min(const struct bench_series *series)
{
	double min = series->count ? series->sample[0] : 0;
	for (int i = 1; i < series->count; i++)
		if (series->sample[i] < min)
			min = series->sample[i];
	return min;
}

double bench_series_max(const struct bench_series *series)
{
	double max = series->count ? series->sample[0] : 0;
	for (int i = 1; i < series->count; i++)
		if (series->sample[i] > max)
			max = series->sample[i];
	return max;
}

void bench_report_row(const char *figure, const char *contestant, const char *unit,
		      const struct bench_series *values, const struct bench_series *ratios,
		      const char *goal)
{
	printf("@bench\t%s\t%s\t%s\t%.6g\t%.6g\t%.6g", figure, contestant, unit,
	       bench_series_median(values), bench_series_min(values), bench_series_max(values));
	if (ratios && ratios->count)
		printf("\t%.4f\t%.4f\t%.4f", bench_series_median(ratios), bench_series_min(ratios),
		       bench_series_max(ratios));
	else
		printf("\t-\t-\t-");
	printf("\t%s\n", goal ? goal : "-");
	fflush(stdout);
}
