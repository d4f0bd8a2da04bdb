/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the `gale` subcommands: the wall clock for reports, argument parsing,
 * report files whose write errors are never lost, and counts past 2^64.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "cli.h"

struct cli_program cli_program = {.name = "gale", .argv0 = "gale"};

const struct gale_scenario *cli_scenario_find(const char *name)
{
	for (size_t i = 0; i < cli_program.scenarios_count; i++)
		if (strcmp(cli_program.scenarios[i]->name, name) == 0)
			return cli_program.scenarios[i];
	return NULL;
}

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
	fprintf(stderr, "%s: ", cli_program.name);
	vfprintf(stderr, format, args);
	fputs(" (try --help)\n", stderr);
	va_end(args);
}

/* Digit value of c in base (10 or 16), or -1. */
static int digit_value(char c, unsigned base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Text of a value for messages: printable and short, whatever the user passed. */
static void quote_value(const char *text, char *buf, size_t buf_len)
{
	size_t n = 0;
	for (; *text != '\0' && n + 4 < buf_len; text++)
		buf[n++] = (*text >= 0x20 && *text < 0x7f) ? *text : '?';
	if (*text != '\0')
		n += (size_t)snprintf(buf + n, buf_len - n, "...");
	buf[n] = '\0';
}

bool cli_parse_u64(const char *flag, const char *text, uint64_t *value_out)
{
	char shown[48];
	quote_value(text != NULL ? text : "", shown, sizeof(shown));
	const char *digits = text != NULL ? text : "";
	unsigned base = 10;
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		base = 16;
		digits += 2;
	}
	if (digits[0] == '\0') {
		cli_usage_error("%s: '%s' is not a number (decimal, or hex after 0x)", flag, shown);
		return false;
	}
	uint64_t value = 0;
	for (const char *p = digits; *p != '\0'; p++) {
		int d = digit_value(*p, base);
		if (d < 0) {
			cli_usage_error("%s: '%s' is not a number (decimal, or hex after 0x)", flag,
					shown);
			return false;
		}
		if (value > (UINT64_MAX - (uint64_t)d) / base) {
			cli_usage_error("%s: '%s' is out of range (at most %llu)", flag, shown,
					(unsigned long long)UINT64_MAX);
			return false;
		}
		value = value * base + (uint64_t)d;
	}
	*value_out = value;
	return true;
}

bool cli_parse_profile(const char *text, const char **name_out)
{
	if (text == NULL || gale_fault_profile_find(text) == NULL) {
		char shown[48];
		quote_value(text != NULL ? text : "", shown, sizeof(shown));
		cli_usage_error("unknown profile '%s' (see gale list)", shown);
		return false;
	}
	*name_out = text;
	return true;
}

size_t cli_backends_count(const struct cli_campaign *campaign)
{
	return campaign->backends_count > 0 ? campaign->backends_count : 1;
}

bool cli_backend_is_kernel(enum gale_backend backend)
{
	return backend != GALE_BACKEND_SIM;
}

bool cli_backends_sim_only(const struct cli_campaign *campaign)
{
	for (size_t k = 0; k < cli_backends_count(campaign); k++)
		if (cli_backend_is_kernel(campaign->backends[k]))
			return false;
	return true;
}

const char *cli_backends_format(const struct cli_campaign *campaign, char *buf, size_t buf_len)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < cli_backends_count(campaign) && len < buf_len; k++) {
		int n = snprintf(buf + len, buf_len - len, "%s%s", k ? "," : "",
				 gale_backend_name(campaign->backends[k]));
		len += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

const char *cli_backend_names(char *buf, size_t buf_len)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int k = 0; k < GALE_BACKEND_COUNT && len < buf_len; k++) {
		int n = snprintf(buf + len, buf_len - len, "%s%s", k ? ", " : "",
				 gale_backend_name((enum gale_backend)k));
		len += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

int cli_backends_parse(const char *text, enum gale_backend backends[CLI_BACKENDS_MAX],
		       size_t *count_out)
{
	enum gale_backend found[CLI_BACKENDS_MAX];
	size_t count = 0;
	for (const char *at = text != NULL ? text : "";; count++) {
		size_t len = strcspn(at, ",");
		char name[32];
		if (count == CLI_BACKENDS_MAX || len == 0 || len >= sizeof(name))
			return -EINVAL;
		memcpy(name, at, len);
		name[len] = '\0';
		if (gale_backend_parse(name, &found[count]) != 0)
			return -EINVAL;
		if (count == 1 && found[1] == found[0])
			return -EEXIST;
		if (at[len] == '\0')
			break;
		at += len + 1;
	}
	memcpy(backends, found, (count + 1) * sizeof(*found));
	*count_out = count + 1;
	return 0;
}

bool cli_parse_backends(const char *flag, const char *text, struct cli_campaign *campaign)
{
	char shown[48], names[64];
	quote_value(text != NULL ? text : "", shown, sizeof(shown));
	int rc = cli_backends_parse(text, campaign->backends, &campaign->backends_count);
	if (rc == -EEXIST)
		cli_usage_error("%s '%s': the two backends to compare must differ", flag, shown);
	else if (rc != 0)
		cli_usage_error("%s '%s': want one of %s, or two of them separated by a comma "
				"(to compare them)", flag, shown,
				cli_backend_names(names, sizeof(names)));
	return rc == 0;
}

const char *cli_faults_format(const struct gale_fault_stats *faults, char *buf, size_t buf_len)
{
	size_t len = 0;
	snprintf(buf, buf_len, "none");
	for (int kind = 0; kind < GALE_FAULT_COUNT && len < buf_len; kind++) {
		if (faults->injected[kind] == 0)
			continue;
		int n = snprintf(buf + len, buf_len - len, "%s%s %llu", len ? ", " : "",
				 gale_fault_kind_name((enum gale_fault_kind)kind),
				 (unsigned long long)faults->injected[kind]);
		len += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

static const struct cli_option_spec *spec_find(const struct cli_option_spec *specs,
					       size_t count, const char *name, size_t name_len)
{
	for (size_t k = 0; k < count; k++)
		if (strlen(specs[k].name) == name_len &&
		    strncmp(specs[k].name, name, name_len) == 0)
			return &specs[k];
	return NULL;
}

bool cli_next_option(const char *command, const struct cli_option_spec *specs, size_t count,
		     int argc, char **argv, int *i, const struct cli_option_spec **spec_out,
		     const char **value_out)
{
	const char *arg = argv[*i];
	char shown[48];
	quote_value(arg, shown, sizeof(shown));
	*value_out = NULL;
	const char *equals = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
	size_t name_len = equals != NULL ? (size_t)(equals - arg) : strlen(arg);
	const struct cli_option_spec *spec = spec_find(specs, count, arg, name_len);
	const char *attached = equals != NULL ? equals + 1 : NULL;
	/* "-j4": a one-letter flag with its value attached. */
	if (spec == NULL && arg[0] == '-' && arg[1] != '-' && arg[1] != '\0' && arg[2] != '\0') {
		spec = spec_find(specs, count, arg, 2);
		attached = spec != NULL && spec->takes_value ? arg + 2 : NULL;
		spec = attached != NULL ? spec : NULL;
	}
	if (spec == NULL) {
		cli_usage_error(arg[0] == '-' ? "%s: unknown option '%s'"
					      : "%s: unexpected argument '%s'", command, shown);
		return false;
	}
	if (!spec->takes_value && attached != NULL) {
		cli_usage_error("%s takes no value", spec->name);
		return false;
	}
	if (spec->takes_value && attached == NULL) {
		if (*i + 1 >= argc) {
			cli_usage_error("%s needs a value", spec->name);
			return false;
		}
		*i += 1;
		attached = argv[*i];
	}
	*spec_out = spec;
	*value_out = attached;
	return true;
}

FILE *cli_file_open(const char *path)
{
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		char shown[160];
		quote_value(path, shown, sizeof(shown));
		fprintf(stderr, "%s: cannot write %s: %s\n", cli_program.name, shown,
			strerror(errno));
	}
	return out;
}

bool cli_file_close(FILE *out, const char *path)
{
	errno = 0;
	bool failed = fflush(out) != 0 || ferror(out);
	int saved = errno;
	if (fclose(out) != 0 && !failed) {
		failed = true;
		saved = errno;
	}
	if (failed) {
		char shown[160];
		quote_value(path, shown, sizeof(shown));
		fprintf(stderr, "%s: cannot write %s: %s\n", cli_program.name, shown,
			saved != 0 ? strerror(saved) : "write error");
	}
	return !failed;
}

void cli_count_add(struct cli_count *count, uint64_t value)
{
	count->low += value;
	count->high += count->low < value; /* The carry. */
}

const char *cli_count_format(struct cli_count count, char *buf, size_t buf_len)
{
	/* Long division by 10 over four 32-bit limbs, most significant first. */
	uint32_t limbs[4] = {(uint32_t)(count.high >> 32), (uint32_t)count.high,
			     (uint32_t)(count.low >> 32), (uint32_t)count.low};
	char digits[48];
	size_t n = 0;
	do {
		uint64_t rest = 0;
		bool nonzero = false;
		for (int k = 0; k < 4; k++) {
			uint64_t part = (rest << 32) | limbs[k];
			limbs[k] = (uint32_t)(part / 10);
			rest = part % 10;
			nonzero = nonzero || limbs[k] != 0;
		}
		digits[n++] = (char)('0' + rest);
		if (!nonzero)
			break;
	} while (n < sizeof(digits));
	size_t k = 0;
	for (; k < n && k + 1 < buf_len; k++)
		buf[k] = digits[n - 1 - k];
	buf[k] = '\0';
	return buf;
}

char *cli_file_read(const char *command, const char *path, size_t max, size_t *len_out)
{
	char shown[160];
	quote_value(path, shown, sizeof(shown));
	FILE *in = fopen(path, "rb");
	if (in == NULL) {
		fprintf(stderr, "%s: %s: %s: %s\n", cli_program.name, command, shown,
			strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	while (text != NULL) {
		len += fread(text + len, 1, cap - len - 1, in);
		if (len < cap - 1 || cap > max)
			break;
		char *grown = realloc(text, cap * 2);
		if (grown == NULL)
			free(text);
		text = grown;
		cap *= 2;
	}
	bool bad = text == NULL || ferror(in) || len > max;
	fclose(in);
	if (bad) {
		fprintf(stderr, "%s: %s: %s: %s\n", cli_program.name, command, shown,
			text == NULL ? "out of memory" : "cannot read it, or it is too large");
		free(text);
		return NULL;
	}
	text[len] = '\0';
	*len_out = len;
	return text;
}

int cli_fork_piped(pid_t *pid_out, int *fd_out)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	close(fds[pid == 0 ? 0 : 1]);
	*fd_out = fds[pid == 0 ? 1 : 0];
	*pid_out = pid;
	return 0;
}

/* The whole of len bytes through read(2) or write(2), retrying short counts and EINTR. */
static bool cli_io_all(int fd, char *bytes, size_t len, bool writing)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = writing ? write(fd, bytes + done, len - done)
				    : read(fd, bytes + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

bool cli_write_all(int fd, const void *buf, size_t len)
{
	return cli_io_all(fd, (char *)(uintptr_t)buf, len, true);
}

bool cli_read_all(int fd, void *buf, size_t len)
{
	return cli_io_all(fd, buf, len, false);
}

void cli_trace_print(const struct gale_trace *trace, FILE *out)
{
	const struct gale_trace_record *records = gale_trace_records(trace);
	char line[256];
	for (size_t i = 0; i < gale_trace_kept_count(trace); i++) {
		gale_trace_record_format(&records[i], line, sizeof(line));
		if (fprintf(out, "%s\n", line) < 0)
			return; /* The caller's close or flush reports the write error. */
	}
	if (gale_trace_is_truncated(trace))
		fprintf(out, "... trace truncated after %zu records\n",
			gale_trace_kept_count(trace));
}
