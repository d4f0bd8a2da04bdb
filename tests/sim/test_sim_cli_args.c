/* SPDX-License-Identifier: MIT */
/*
 * The `gale` command from outside, as a user runs it (the binary, exec'd): a few hundred
 * generated bad argument vectors each end with exit status 2 and exactly one line on
 * stderr (never a crash, a hang or exit 0), and the reproducers of issue 13 behave: seed
 * counts past 2^64 stream in bounded memory, output that cannot be written is an error,
 * report paths are checked before the campaign runs, and numbers are decimal; --backend
 * takes one backend or two distinct ones and refuses anything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <gale/gale_fuzz.h>

#include "catalog.h"
#include "test_support.h"

#ifndef GALE_CLI_PATH
#error "GALE_CLI_PATH names the gale binary under test"
#endif

/* What one run of the command did. */
struct outcome {
	int exit_status;     /* Exit status, or 128 + signal. */
	char out[8192];      /* Its stdout (cut), unless redirected. */
	char err[4096];      /* Its stderr (cut). */
	long max_rss_kib;    /* Peak memory. */
	double seconds;      /* Wall time. */
};

static void read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	lseek(fd, 0, SEEK_SET);
	ssize_t n;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static int temp_fd(void)
{
	char name[] = "/tmp/gale-cli-test-XXXXXX";
	int fd = mkstemp(name);
	assert_true(fd >= 0);
	unlink(name);
	return fd;
}

/*
 * Runs gale with args (NULL-terminated); stdout goes to stdout_path when not NULL. Kills
 * it after a generous bound: a hang is a failure, reported as such, not a stuck suite.
 */
static void run_gale(const char *const *args, const char *stdout_path, struct outcome *o)
{
	const char *argv[64] = {"gale"};
	size_t argc = 1;
	for (; args[argc - 1] != NULL; argc++) {
		assert_true(argc < 63);
		argv[argc] = args[argc - 1];
	}
	argv[argc] = NULL;
	int out_fd = stdout_path != NULL ? open(stdout_path, O_WRONLY) : temp_fd();
	int err_fd = temp_fd();
	assert_true(out_fd >= 0);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Under ASan, freed memory waits in a quarantine: keep it out of peak memory. */
		const char *asan = getenv("ASAN_OPTIONS");
		char options[512];
		snprintf(options, sizeof(options), "%s%squarantine_size_mb=0", asan ? asan : "",
			 asan && asan[0] ? ":" : "");
		setenv("ASAN_OPTIONS", options, 1);
		dup2(out_fd, STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execv(GALE_CLI_PATH, (char *const *)argv);
		_exit(127);
	}
	int status = 0;
	struct rusage usage;
	for (;;) {
		pid_t done = wait4(pid, &status, WNOHANG, &usage);
		assert_true(done >= 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		o->seconds = (double)(now.tv_sec - start.tv_sec) +
			     (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (done == pid)
			break;
		if (o->seconds > 60) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			char shown[512] = "";
			for (size_t k = 1; argv[k] != NULL; k++)
				snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown),
					 " '%s'", argv[k]);
			fail_msg("gale%s hung (killed after 60 s)", shown);
		}
		struct timespec nap = {0, 2000000};
		nanosleep(&nap, NULL);
	}
	o->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	o->max_rss_kib = usage.ru_maxrss;
	o->out[0] = '\0';
	if (stdout_path == NULL)
		read_all(out_fd, o->out, sizeof(o->out));
	else
		close(out_fd);
	read_all(err_fd, o->err, sizeof(o->err));
}

/* Bad usage: exit 2, one line on stderr naming the problem, nothing on stdout. */
static void expect_usage_error(const char *const *args, const char *context)
{
	struct outcome o;
	run_gale(args, NULL, &o);
	size_t len = strlen(o.err);
	char *first_newline = strchr(o.err, '\n');
	if (o.exit_status != 2 || len == 0 || first_newline != o.err + len - 1 || o.out[0] != 0 ||
	    strncmp(o.err, "gale: ", 6) != 0) {
		char shown[512] = "";
		for (size_t k = 0; args[k] != NULL; k++)
			snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " '%s'",
				 args[k]);
		fail_msg("%s: gale%s\n exit %d (want 2)\n stdout: %.200s\n stderr: %.1500s",
			 context, shown, o.exit_status, o.out, o.err);
	}
}

/* A tiny deterministic generator: the vectors are the same on every run. */
static uint64_t lcg_state = 0x9e3779b97f4a7c15ull;
static uint32_t pick(uint32_t n)
{
	lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(lcg_state >> 33) % n;
}

static const char long_number[] =
	"99999999999999999999999999999999999999999999999999999999999999999999999999999999";
static const char *const bad_numbers[] = {
	"", " -1", "-1", "+1", "1e3", "0x", "0x-1", "18446744073709551616", "abc", "1.5", " 1",
	"1 ", "\t1", "0x1g", "\xd9\xa1", "1..2", long_number, "-0", "0b101"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One bad piece of a `gale run` command line: 1-3 words. */
static size_t run_bad_piece(const char **words)
{
	static const char *const value_flags[] = {"--count", "-j", "--time-limit",
						  "--seed-timeout"};
	static const char *const bad_ranges[] = {
		"..", "5..", "..5", "5..4", "0..18446744073709551615", "1...2", "1.2", "a..b",
		" 1..2", "1..-2", "08..0x"};
	static const char *const bad_shards[] = {"1/1", "0/0", "/", "1/", "/2", "-1/2", " 0/2",
						 "0/4294967296", "2/1", "0/2/3"};
	static const char *const bad_words[] = {"--bogus", "positional", "--swarm=1", "-x",
						"-", "--", "--count=", "-j0", "-j257", "-jx",
						"--scenario=nope", "--profile=nope", "--json=",
						"--fault-coverage=yes"};
	static const char *const bad_backends[] = {"", "sim,sim", "epol", "SIM", "sim,",
						   ",epoll", "sim,epoll,fault-epoll",
						   "epoll,epoll", "sim epoll", "fault_epoll"};
	switch (pick(10)) {
	case 0: {
		words[0] = value_flags[pick(COUNT(value_flags))];
		words[1] = bad_numbers[pick(COUNT(bad_numbers))];
		return 2;
	}
	case 1:
		words[0] = "--seeds";
		words[1] = bad_ranges[pick(COUNT(bad_ranges))];
		return 2;
	case 2:
		words[0] = "--shard";
		words[1] = bad_shards[pick(COUNT(bad_shards))];
		return 2;
	case 3:
		words[0] = bad_words[pick(COUNT(bad_words))];
		return 1;
	case 4:
		words[0] = pick(2) ? "--count" : "--time-limit";
		words[1] = words[0][2] == 't' && pick(2) ? "1000001" : "0";
		return 2;
	case 5:
		words[0] = pick(2) ? "--json" : "--junit";
		words[1] = pick(2) ? "/nonexistent/dir/report" : "";
		return 2;
	case 6:
		words[0] = "--profile";
		words[1] = "none";
		words[2] = "--swarm";
		return 3;
	case 7:
		words[0] = pick(2) ? "--scenario" : "--profile";
		words[1] = pick(2) ? "nope" : "";
		return 2;
	case 8:
		words[0] = "--backend";
		words[1] = bad_backends[pick(COUNT(bad_backends))];
		return 2;
	default:
		words[0] = "-j";
		words[1] = pick(2) ? "0" : "257";
		return 2;
	}
}

/* Builds a `gale run` vector: valid options around one bad piece. */
static void make_run_vector(const char **args)
{
	static const char *const valid[][2] = {{"--scenario", "rpc"}, {"--profile", "none"},
					       {"-j", "1"},            {"--count", "2"},
					       {"--shard", "0/1"},     {"--time-limit", "5"},
					       {"--scenario", "all"},  {"--seeds", "3..4"}};
	size_t n = 0;
	args[n++] = "run";
	size_t before = pick(3), after = pick(2);
	for (size_t k = 0; k < before; k++) {
		size_t v = pick(COUNT(valid));
		args[n++] = valid[v][0];
		args[n++] = valid[v][1];
	}
	n += run_bad_piece(args + n);
	for (size_t k = 0; k < after; k++) {
		size_t v = pick(COUNT(valid));
		args[n++] = valid[v][0];
		args[n++] = valid[v][1];
	}
	args[n] = NULL;
}

static void make_replay_vector(const char **args)
{
	size_t n = 0;
	args[n++] = "replay";
	uint32_t kind = pick(8);
	if (kind != 0) {
		args[n++] = "--scenario";
		args[n++] = kind == 1 ? "nope" : "rpc";
	}
	if (kind != 2) {
		args[n++] = "--seed";
		args[n++] = kind == 3 ? bad_numbers[pick(COUNT(bad_numbers))] : "1";
	}
	if (kind == 4) {
		args[n++] = "--hash";
		args[n++] = bad_numbers[pick(COUNT(bad_numbers))];
	} else if (kind == 5) {
		args[n++] = pick(2) ? "--trace" : "--bogus";
		args[n++] = "/nonexistent/dir/trace.txt";
	} else if (kind == 6) {
		static const char *const dangling[] = {"--seed", "--hash", "--trace", "--profile",
						       "--scenario", "--faults-off",
						       "--only-faults", "--backend"};
		args[n++] = dangling[pick(COUNT(dangling))];
	} else if (kind == 7) {
		static const char *const bad_shrink[][2] = {
			{"--faults-off", "nope"}, {"--faults-off", "reset,"}, {"--faults-off", ""},
			{"--only-faults", "1,,2"}, {"--only-faults", "-1"}, {"--only-faults", ""},
			{"--only-faults", "1,x"}, {"--input", "/nonexistent/in"},
			{"--backend", "sim,epoll"}, {"--backend", "nope"}, {"--backend", ""}};
		const char *const *piece = bad_shrink[pick(COUNT(bad_shrink))];
		args[n++] = piece[0];
		args[n++] = piece[1];
	}
	args[n] = NULL;
}

static void test_generated_bad_vectors_exit_2_with_one_line(void **state)
{
	(void)state;
	const char *args[64];
	char context[64];
	for (int k = 0; k < 300; k++) {
		uint32_t kind = pick(10);
		if (kind < 6) {
			make_run_vector(args);
		} else if (kind < 9) {
			make_replay_vector(args);
		} else {
			static const char *const others[][3] = {
				{"list", "x", NULL},     {"list", "--bogus", NULL},
				{"nope", NULL, NULL},    {"merge", NULL, NULL},
				{"merge", "/nonexistent.json", NULL},
				{"merge", "--json", NULL}, {"merge", "--junit=", NULL},
				{"", NULL, NULL},        {"--bogus", NULL, NULL}};
			const char *const *other = others[pick(COUNT(others))];
			memcpy(args, other, sizeof(others[0]));
		}
		snprintf(context, sizeof(context), "vector %d", k);
		expect_usage_error(args, context);
	}
}

/* The exact reproducers of issue 13's argument-parsing list. */
static void test_reported_bad_arguments(void **state)
{
	(void)state;
	static const char *const count_space[] = {"run", "--count", " -1", NULL};
	static const char *const seed_space[] = {"replay", "--scenario", "rpc", "--seed", " -1",
						 NULL};
	static const char *const unknown_last[] = {"replay", "--scenario", "rpc", "--seed", "1",
						   "--bogus", NULL};
	expect_usage_error(count_space, "--count ' -1'");
	expect_usage_error(seed_space, "--seed ' -1'");
	expect_usage_error(unknown_last, "unknown option last");
	struct outcome o;
	run_gale(unknown_last, NULL, &o);
	assert_non_null(strstr(o.err, "unknown option '--bogus'"));
}

/* Numbers are decimal: --seed 010 is seed ten, --seeds 08..09 are seeds eight and nine. */
static void test_decimal_numbers_and_attached_values(void **state)
{
	(void)state;
	struct outcome o;
	static const char *const replay[] = {"replay", "--scenario", "rpc", "--seed", "010", NULL};
	run_gale(replay, NULL, &o);
	assert_int_equal(o.exit_status, 0);
	assert_non_null(strstr(o.out, "scenario rpc seed 10 "));
	static const char *const seeds[] = {"run", "--scenario", "rpc", "--seeds", "08..09",
					    "-j1", "--profile=none", NULL};
	run_gale(seeds, NULL, &o);
	assert_int_equal(o.exit_status, 0);
	assert_non_null(strstr(o.out, "\n2 passed, 0 failed\n"));
	assert_non_null(strstr(o.out, "jobs: 1 "));
	/* all, then rpc again: rpc runs once. */
	static const char *const twice[] = {"run", "--scenario", "all", "--scenario", "rpc",
					    "--count", "1", "-j", "2", NULL};
	run_gale(twice, NULL, &o);
	assert_int_equal(o.exit_status, 0);
	const char *rpc = strstr(o.out, "\nrpc ");
	assert_non_null(rpc);
	assert_null(strstr(rpc + 1, "\nrpc "));
}

/*
 * --backend: bad lists are one line naming the valid backends; valid ones run, in both
 * spellings, and the summary names them; list shows them.
 */
static void test_backend_arguments(void **state)
{
	(void)state;
	static const char *const unknown[] = {"run", "--backend", "kqueue", NULL};
	static const char *const twice[] = {"run", "--backend=epoll,epoll", NULL};
	static const char *const replay_two[] = {"replay", "--scenario", "rpc", "--seed", "1",
						 "--backend", "sim,epoll", NULL};
	static const char *const replay_shrink[] = {"replay", "--scenario", "rpc", "--seed", "1",
						    "--backend", "epoll", "--shrink", NULL};
	static const char *const replay_input[] = {"replay", "--input", "/nonexistent/in",
						   "--backend", "epoll", NULL};
	struct outcome o;
	expect_usage_error(unknown, "an unknown backend");
	run_gale(unknown, NULL, &o);
	assert_non_null(strstr(o.err, "want one of sim, epoll, fault-epoll,"));
	expect_usage_error(twice, "the same backend twice");
	run_gale(twice, NULL, &o);
	assert_non_null(strstr(o.err, "must differ"));
	expect_usage_error(replay_two, "replay on two backends");
	expect_usage_error(replay_shrink, "replay --shrink on the kernel");
	expect_usage_error(replay_input, "replay --input on the kernel");
	static const char *const on_sim[] = {"run", "--scenario", "rpc", "--count", "2", "-j1",
					     "--backend", "sim", NULL};
	run_gale(on_sim, NULL, &o);
	assert_int_equal(o.exit_status, 0);
	assert_non_null(strstr(o.out, "\nbackend: sim   profile: default"));
	static const char *const both[] = {"run", "--scenario", "rpc", "--count", "2", "-j1",
					   "--backend=sim,epoll", NULL};
	run_gale(both, NULL, &o);
	if (o.exit_status != 0 || strstr(o.out, "\nbackend: sim,epoll (differential)") == NULL ||
	    strstr(o.out, "\n2 passed, 0 failed (0 of them divergent)\n") == NULL)
		fail_msg("exit %d\n%s\n%s", o.exit_status, o.out, o.err);
	static const char *const list[] = {"list", NULL};
	run_gale(list, NULL, &o);
	assert_int_equal(o.exit_status, 0);
	assert_non_null(strstr(o.out, "\nbackends (run --backend NAME"));
	assert_non_null(strstr(o.out, "\n  fault-epoll  "));
}

/* Campaigns of 2^64 - 1 seeds (x 6 scenarios) stream under a time limit in little memory. */
static void test_huge_seed_counts_stream_in_bounded_memory(void **state)
{
	(void)state;
	static const char *const cases[][12] = {
		{"run", "--scenario", "rpc", "--seeds", "0..18446744073709551614", "--time-limit",
		 "1", "-j", "1", NULL},
		{"run", "--count", "18446744073709551615", "--time-limit", "1", "-j", "1", NULL},
		{"run", "--scenario", "rpc", "--scenario", "tcp_echo", "--count",
		 "9223372036854775813", "--time-limit", "1", "-j", "1", NULL},
		{"run", "--count", "10000000000", "--time-limit", "1", "-j", "2", NULL},
	};
	for (size_t k = 0; k < COUNT(cases); k++) {
		struct outcome o;
		run_gale(cases[k], NULL, &o);
		if (o.exit_status != 0 || strstr(o.out, "(stopped at the time limit)") == NULL ||
		    strstr(o.out, " skipped\n") == NULL || strstr(o.out, "\n0 passed") != NULL)
			fail_msg("case %zu: exit %d\n%s\n%s", k, o.exit_status, o.out, o.err);
		/*
		 * The old plan took 16 bytes per unit: 10^10 seeds could not even be allocated.
		 * Print the figure, so a creeping peak shows before it trips the bound.
		 */
		print_message("case %zu: %.1f s, peak memory %ld KiB\n", k, o.seconds,
			      o.max_rss_kib);
		if (o.max_rss_kib > 64 * 1024)
			fail_msg("case %zu: peak memory %ld KiB", k, o.max_rss_kib);
	}
}

/* Output that never arrived is an error: exit 2 and a message, never a silent 0. */
static void test_write_errors_are_reported(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	static const char *const list[] = {"list", NULL};
	static const char *const replay[] = {"replay", "--scenario", "rpc", "--seed", "1",
					     "--verbose", NULL};
	static const char *const json[] = {"run", "--scenario", "rpc", "--count", "2", "--json",
					   "/dev/full", NULL};
	static const char *const *const to_full[] = {list, replay};
	struct outcome o;
	for (size_t k = 0; k < 2; k++) {
		run_gale(to_full[k], "/dev/full", &o);
		assert_int_equal(o.exit_status, 2);
		assert_non_null(strstr(o.err, "gale: cannot write to standard output: "));
	}
	run_gale(json, NULL, &o);
	assert_int_equal(o.exit_status, 2);
	assert_non_null(strstr(o.err, "gale: cannot write /dev/full: No space left on device"));
	/* A report path that cannot be opened fails before a seed runs. */
	static const char *const missing[] = {"run", "--count", "100000000", "--json",
					      "/nonexistent/dir/x.json", NULL};
	expect_usage_error(missing, "--json in a missing folder");
}

/* A fuzz_tcp_sim corpus input replays through `gale replay --input` with the trace hash the
 * fuzz target's decoder gives in-process: the fuzz target and the command are one path. */
static void test_fuzz_corpus_replays_through_the_command(void **state)
{
	(void)state;
	const char *dir_path = GALE_SOURCE_DIR "/fuzz/corpus/tcp_sim";
	DIR *dir = opendir(dir_path);
	if (dir == NULL)
		skip();
	size_t count = 0;
	const struct gale_scenario *const *catalog = gale_catalog_scenarios(&count);
	int checked = 0;
	for (struct dirent *entry; checked < 4 && (entry = readdir(dir)) != NULL;) {
		if (entry->d_name[0] == '.' || strncmp(entry->d_name, "README", 6) == 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
		FILE *in = fopen(path, "rb");
		assert_non_null(in);
		static uint8_t bytes[1 << 16];
		size_t len = fread(bytes, 1, sizeof(bytes), in);
		fclose(in);
		struct gale_fuzz_case fuzz_case;
		assert_int_equal(gale_fuzz_decode(bytes, len, catalog, count, &fuzz_case), 0);
		struct gale_run_result result;
		assert_int_equal(gale_scenario_run(fuzz_case.scenario, &fuzz_case.options, NULL,
						   &result), 0);
		char expected[96];
		snprintf(expected, sizeof(expected), "trace hash 0x%016llx (",
			 (unsigned long long)result.trace_hash);
		const char *args[] = {"replay", "--input", path, NULL};
		struct outcome o;
		run_gale(args, NULL, &o);
		if (o.exit_status != 0 || strstr(o.out, expected) == NULL ||
		    strstr(o.out, fuzz_case.scenario->name) == NULL)
			fail_msg("%s: exit %d, want '%s' and %s in:\n%s%s", path, o.exit_status,
				 expected, fuzz_case.scenario->name, o.out, o.err);
		checked++;
	}
	closedir(dir);
	assert_int_equal(checked, 4);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_bad_vectors_exit_2_with_one_line),
		cmocka_unit_test(test_reported_bad_arguments),
		cmocka_unit_test(test_decimal_numbers_and_attached_values),
		cmocka_unit_test(test_backend_arguments),
		cmocka_unit_test(test_huge_seed_counts_stream_in_bounded_memory),
		cmocka_unit_test(test_write_errors_are_reported),
		cmocka_unit_test(test_fuzz_corpus_replays_through_the_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
