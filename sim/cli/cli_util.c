/* SPDX-License-Identifier: MIT */
/* Helpers shared by the `gale` subcommands: the wall clock for reports, argument parsing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/sim_profile.h>

#include "cli.h"

int64_t cli_wall_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void cli_usage_error(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("gale: ", stderr);
	vfprintf(stderr, format, args);
	fputs(" (try --help)\n", stderr);
	va_end(args);
}

bool cli_parse_u64(const char *flag, const char *text, uint64_t *value_out)
{
	if (text == NULL || text[0] == '\0' || text[0] == '-') {
		cli_usage_error("%s needs a non-negative number", flag);
		return false;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0') {
		cli_usage_error("%s: '%s' is not a number", flag, text);
		return false;
	}
	*value_out = value;
	return true;
}

bool cli_parse_profile(const char *text, const char **name_out)
{
	if (text == NULL || gale_fault_profile_find(text) == NULL) {
		cli_usage_error("unknown profile '%s' (see gale list)", text ? text : "");
		return false;
	}
	*name_out = text;
	return true;
}
