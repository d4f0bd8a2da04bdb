/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver as a driver: fd numbering, registration errors, the edge-triggered
 * readiness rules, backpressure, virtual time and stalls, pipes and socketpairs, I/O
 * faults (each switched on alone through a mutable profile), traces, stats, leaks and the
 * scheduling hook.
 *
 * Methodology: every test drives the ops directly through the gale_driver_*() wrappers
 * with faults off unless the test turns one on, and pins exact results: fd numbers, byte
 * counts, event bits, virtual times. Nothing here depends on a seed except where said;
 * replay one test with -t NAME.
 */
#include <errno.h>
#include <string.h>

#include <gale/entropy.h>
#include <gale/error.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "sim_test_support.h"
#include "test_support.h"

#define BASE GALE_SIM_FD_BASE
#define MS INT64_C(1000000)

/* Starts a sim with exact options (no faults, 1 ms latency) unless options is given. */
static struct gale_driver *sim_start(struct gale_sim *sim, const struct gale_sim_options *options)
{
	struct gale_sim_options exact = gale_sim_test_options(MS);
	assert_int_equal(gale_sim_init(sim, options != NULL ? options : &exact), 0);
	return &sim->base;
}

static void pair_open(struct gale_driver *driver, int fds[2])
{
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
}

static void fd_close(struct gale_driver *driver, int fd)
{
	assert_int_equal(gale_driver_close(driver, fd), 0);
}

/* ---- Options and lifecycle ----------------------------------------------------------- */

static void test_options_default(void **state)
{
	(void)state;
	struct gale_sim_options options = gale_sim_options_default();
	assert_int_equal(options.seed, 0);
	assert_null(options.profile);
	assert_null(options.entropy);
	assert_null(options.trace);
	assert_int_equal(options.latency_ns_min, 50000);
	assert_int_equal(options.latency_ns_max, 500000);
	assert_int_equal(options.bandwidth_bytes_per_s, 0);
	assert_int_equal(options.socket_buf_size, 65536);
	assert_int_equal(options.pair_latency_ns, 0);
	assert_int_equal(options.fds_max, 65536);
	assert_int_equal(options.time_start_ns, 0);
	struct gale_sim sim;
	assert_int_equal(gale_sim_init(&sim, NULL), 0);
	assert_string_equal(gale_driver_name(&sim.base), "sim");
	assert_int_equal(gale_driver_now_ns(&sim.base), 0);
	gale_sim_test_finish(&sim);
	assert_int_equal(gale_sim_deinit(&sim), 0); /* Idempotent. */
}

static void test_init_rejects_bad_options(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_options_default();
	options.latency_ns_min = 2;
	options.latency_ns_max = 1;
	assert_int_equal(gale_sim_init(&sim, &options), -EINVAL);
	assert_null(sim.base.ops);
	options = gale_sim_options_default();
	options.socket_buf_size = 0;
	assert_int_equal(gale_sim_init(&sim, &options), -EINVAL);
	options = gale_sim_options_default();
	options.fds_max = 0;
	assert_int_equal(gale_sim_init(&sim, &options), -EINVAL);
	options = gale_sim_options_default();
	options.pair_latency_ns = -1;
	assert_int_equal(gale_sim_init(&sim, &options), -EINVAL);
	assert_null(sim.base.ops);
	assert_int_equal(gale_sim_deinit(&sim), 0); /* A failed init leaves nothing to free. */
	options = gale_sim_options_default();
	options.time_start_ns = 5 * MS;
	assert_int_equal(gale_sim_init(&sim, &options), 0);
	assert_int_equal(gale_driver_now_ns(&sim.base), 5 * MS);
	gale_sim_test_finish(&sim);
}

/* ---- fds ----------------------------------------------------------------------------- */

static void test_fd_numbers_lowest_first(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), BASE);
	assert_int_equal(gale_driver_socket(driver, AF_INET6, SOCK_STREAM, 0), BASE + 1);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), BASE + 2);
	fd_close(driver, BASE + 1);
	/* The lowest free number comes back first, as with the kernel. */
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), BASE + 1);
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(pair[0], BASE + 3);
	assert_int_equal(pair[1], BASE + 4);
	int pipe_fds[2];
	assert_int_equal(gale_driver_pipe(driver, pipe_fds), 0);
	assert_int_equal(pipe_fds[0], BASE + 5); /* The reading end first. */
	assert_int_equal(pipe_fds[1], BASE + 6);
	for (int fd = BASE; fd <= BASE + 6; fd++)
		fd_close(driver, fd);
	assert_int_equal(gale_sim_stats_get(&sim).fds_open_count, 0);
	gale_sim_test_finish(&sim);
}

static void test_fds_max_is_emfile(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.fds_max = 3;
	struct gale_driver *driver = sim_start(&sim, &options);
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), BASE + 2);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), -EMFILE);
	assert_int_equal(gale_driver_socketpair(driver, pair), -EMFILE);
	fd_close(driver, BASE + 2);
	/* One slot left: a pair needs two, and the first one is given back. */
	assert_int_equal(gale_driver_pipe(driver, pair), -EMFILE);
	assert_int_equal(gale_sim_stats_get(&sim).fds_open_count, 2);
	fd_close(driver, BASE);
	fd_close(driver, BASE + 1);
	gale_sim_test_finish(&sim);
}

static void test_unknown_fd_is_ebadf(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	const int bad_fds[] = {-1, 0, 3, BASE, BASE + 1000};
	char buf[4];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int value;
	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		int fd = bad_fds[i];
		assert_int_equal(gale_driver_fd_register(driver, fd, 1, GALE_READY_READ), -EBADF);
		assert_int_equal(gale_driver_fd_reregister(driver, fd, 1, GALE_READY_READ), -EBADF);
		assert_int_equal(gale_driver_fd_deregister(driver, fd), -EBADF);
		assert_int_equal(gale_driver_read(driver, fd, buf, sizeof(buf)), -EBADF);
		assert_int_equal(gale_driver_write(driver, fd, buf, sizeof(buf)), -EBADF);
		assert_int_equal(gale_driver_recv(driver, fd, buf, sizeof(buf), 0), -EBADF);
		assert_int_equal(gale_driver_send(driver, fd, buf, sizeof(buf), 0), -EBADF);
		assert_int_equal(gale_driver_listen(driver, fd, 1), -EBADF);
		assert_int_equal(gale_driver_accept(driver, fd, &addr, &addr_len), -EBADF);
		assert_int_equal(gale_driver_socket_error_take(driver, fd), -EBADF);
		assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_TTL, &value),
				 -EBADF);
		assert_int_equal(gale_driver_addr_local(driver, fd, &addr, &addr_len), -EBADF);
		assert_int_equal(gale_driver_shutdown(driver, fd, GALE_SHUTDOWN_WRITE), -EBADF);
		assert_int_equal(gale_driver_fd_nonblocking_set(driver, fd), -EBADF);
		assert_int_equal(gale_driver_close(driver, fd), -EBADF);
	}
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(gale_driver_fd_nonblocking_set(driver, fd), 0);
	fd_close(driver, fd);
	gale_sim_test_finish(&sim);
}

static void test_socket_rejects_unsupported(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	assert_int_equal(gale_driver_socket(driver, AF_UNIX, SOCK_STREAM, 0), -EAFNOSUPPORT);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_DGRAM, 0), -EPROTONOSUPPORT);
	assert_int_equal(gale_driver_socket(driver, AF_INET6, SOCK_STREAM, 17), -EPROTONOSUPPORT);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 6), BASE);
	fd_close(driver, BASE);
	gale_sim_test_finish(&sim);
}

/* ---- Registration and edges ---------------------------------------------------------- */

static void test_register_errors(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_reregister(driver, pair[0], 1, GALE_READY_READ), -ENOENT);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), -ENOENT);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 1, 0), -EINVAL);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 1, GALE_READY_HUP), -EINVAL);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 1, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 2, GALE_READY_READ), -EEXIST);
	assert_int_equal(gale_driver_fd_reregister(driver, pair[0], 2, 0), -EINVAL);
	assert_int_equal(gale_sim_stats_get(&sim).registrations_count, 1);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), -ENOENT);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_edge_triggered_read(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[64];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 7, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	assert_int_equal(gale_driver_write(driver, pair[1], "0123456789", 10), 10);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 7);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	/* No second event without new data. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* A partial read keeps the data readable and produces no event. */
	assert_int_equal(gale_driver_read(driver, pair[0], buf, 4), 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* More data while the buffer is non-empty is no edge either. */
	assert_int_equal(gale_driver_write(driver, pair[1], "ab", 2), 2);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* Drain: 8 bytes, then EAGAIN; the next data is an edge again. */
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "456789ab", 8);
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	assert_int_equal(gale_driver_write(driver, pair[1], "z", 1), 1);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 7);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_register_reports_once_and_reregister_rearms(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_write(driver, pair[1], "x", 1), 1);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 3, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].token, 3);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* Re-registering reports the current readiness again, filtered by the new interest. */
	assert_int_equal(gale_driver_fd_reregister(driver, pair[0], 4, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 4);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	/* Closing a registered fd drops its registration (and its peer sees the close). */
	fd_close(driver, pair[0]);
	assert_int_equal(gale_sim_stats_get(&sim).registrations_count, 0);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_backpressure_socketpair(void **state)
{
	(void)state;
	static char big[10000];
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.socket_buf_size = 4096;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	int pair[2];
	pair_open(driver, pair);
	memset(big, 'b', sizeof(big));
	/* The buffer takes exactly socket_buf_size bytes, then backpressure. */
	assert_int_equal(gale_driver_write(driver, pair[0], big, sizeof(big)), 4096);
	assert_int_equal(gale_driver_write(driver, pair[0], big, sizeof(big)), -EAGAIN);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* The reader frees 100 bytes: a WRITE edge, and exactly 100 bytes fit. */
	assert_int_equal(gale_driver_read(driver, pair[1], big, 100), 100);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	assert_int_equal(gale_driver_write(driver, pair[0], big, sizeof(big)), 100);
	assert_int_equal(gale_driver_read(driver, pair[1], big, sizeof(big)), 4096);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(gale_driver_write(driver, pair[0], big, 10), 10);
	/* Space is left: no new edge. */
	assert_int_equal(gale_driver_read(driver, pair[1], big, sizeof(big)), 10);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

/* ---- Time ---------------------------------------------------------------------------- */

static void test_stall_is_reported(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	assert_int_equal(gale_sim_test_wait(driver, -1, events), GALE_E_STALL);
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 1, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), GALE_E_STALL);
	assert_int_equal(gale_driver_now_ns(driver), 0);
	/* wake() makes the next blocking wait return 0 instead. */
	assert_int_equal(gale_driver_wake(driver), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), GALE_E_STALL);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_time_jumps_to_the_next_event(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.pair_latency_ns = MS;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	char buf[8];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[1], 9, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(driver, pair[0], "hi", 2), 2);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), -EAGAIN);
	/* A timeout before the delivery: exactly the timeout passes. */
	assert_int_equal(gale_sim_test_wait(driver, 400000, events), 0);
	assert_int_equal(gale_driver_now_ns(driver), 400000);
	/* No limit: the clock jumps to the delivery, 1 ms after the write. */
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), MS);
	assert_int_equal(events[0].token, 9);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 2);
	/* Nothing scheduled and a limit: time moves by the limit, no stall. */
	assert_int_equal(gale_sim_test_wait(driver, 5000, events), 0);
	assert_int_equal(gale_driver_now_ns(driver), MS + 5000);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	assert_int_equal(gale_driver_now_ns(driver), MS + 5000);
	assert_int_equal(gale_sim_stats_get(&sim).time_ns, MS + 5000);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[1]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

/* ---- Pipes and socketpairs ----------------------------------------------------------- */

static void test_pipe_semantics(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[16];
	int fds[2];
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	assert_int_equal(gale_driver_write(driver, fds[0], "x", 1), -EBADF);
	assert_int_equal(gale_driver_read(driver, fds[1], buf, 1), -EBADF);
	assert_int_equal(gale_driver_recv(driver, fds[0], buf, 1, 0), -ENOTSOCK);
	assert_int_equal(gale_driver_send(driver, fds[1], "x", 1, 0), -ENOTSOCK);
	assert_int_equal(gale_driver_shutdown(driver, fds[1], GALE_SHUTDOWN_WRITE), -ENOTSOCK);
	assert_int_equal(gale_driver_socket_error_take(driver, fds[0]), -ENOTSOCK);
	assert_int_equal(gale_driver_write(driver, fds[1], "hello", 5), 5);
	fd_close(driver, fds[1]);
	/* The reader gets the bytes, then end of file; its readiness is READ|HUP. */
	assert_int_equal(gale_driver_fd_register(driver, fds[0], 5, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_HUP);
	assert_int_equal(gale_driver_read(driver, fds[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(gale_driver_read(driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[0]), 0);
	fd_close(driver, fds[0]);
	/* No reader: the writer gets EPIPE, its readiness shows ERROR. */
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	fd_close(driver, fds[0]);
	assert_int_equal(gale_driver_write(driver, fds[1], "x", 1), -EPIPE);
	assert_int_equal(gale_driver_fd_register(driver, fds[1], 6, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE | GALE_READY_ERROR);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[1]), 0);
	fd_close(driver, fds[1]);
	gale_sim_test_finish(&sim);
}

static void test_socketpair_close_and_shutdown(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[16];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_write(driver, pair[0], "abc", 3), 3);
	fd_close(driver, pair[0]);
	assert_int_equal(gale_driver_fd_register(driver, pair[1], 1, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP |
						  GALE_READY_HUP);
	assert_int_equal(gale_driver_write(driver, pair[1], "x", 1), -EPIPE);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 3);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[1]), 0);
	fd_close(driver, pair[1]);
	/* Closing with unread bytes: the peer reads ECONNRESET first (AF_UNIX), then 0. */
	pair_open(driver, pair);
	assert_int_equal(gale_driver_write(driver, pair[0], "unread", 6), 6);
	fd_close(driver, pair[1]);
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), 0);
	fd_close(driver, pair[0]);
	/* shutdown(WRITE): the peer reads 0 after the bytes and still writes back. */
	pair_open(driver, pair);
	assert_int_equal(gale_driver_write(driver, pair[0], "q", 1), 1);
	assert_int_equal(gale_driver_shutdown(driver, pair[0], GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_write(driver, pair[0], "q", 1), -EPIPE);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 1);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(driver, pair[1], "r", 1), 1);
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), 1);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_recv_peek_and_vectors(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	char buf[16] = {0};
	char part_a[3];
	char part_b[8];
	int pair[2];
	pair_open(driver, pair);
	struct iovec out[2] = {{.iov_base = "hel", .iov_len = 3},
			       {.iov_base = "lo!", .iov_len = 3}};
	assert_int_equal(gale_driver_writev(driver, pair[0], out, 2), 6);
	assert_int_equal(gale_driver_recv(driver, pair[1], buf, 4, GALE_RECV_PEEK), 4);
	assert_memory_equal(buf, "hell", 4);
	assert_int_equal(gale_driver_recv(driver, pair[1], buf, sizeof(buf), GALE_RECV_PEEK), 6);
	struct iovec in[2] = {{.iov_base = part_a, .iov_len = 3},
			      {.iov_base = part_b, .iov_len = sizeof(part_b)}};
	assert_int_equal(gale_driver_readv(driver, pair[1], in, 2), 6);
	assert_memory_equal(part_a, "hel", 3);
	assert_memory_equal(part_b, "lo!", 3);
	assert_int_equal(gale_driver_recv(driver, pair[1], buf, sizeof(buf), 0), -EAGAIN);
	/* More iovecs than IOV_MAX is -EINVAL, as with the kernel. */
	assert_int_equal(gale_driver_readv(driver, pair[1], in, 1025), -EINVAL);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, 0), 0);
	assert_int_equal(gale_driver_write(driver, pair[1], buf, 0), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

/* ---- Faults, one at a time ----------------------------------------------------------- */

/* A profile with every ratio 0, and kind set to always. */
static struct gale_fault_profile profile_only(enum gale_fault_kind kind)
{
	struct gale_fault_profile profile = {.name = "test"};
	profile.ratios[kind] = (struct gale_ratio){1, 1};
	profile.ready_delay_ns_max = MS;
	profile.latency_jitter_ns_max = MS;
	profile.connect_delay_ns_max = MS;
	profile.partition_ns_max = MS;
	return profile;
}

static void test_fault_would_block_redelivers(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_only(GALE_FAULT_READ_WOULD_BLOCK);
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	char buf[8];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[1], 2, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1); /* WRITE at registration. */
	assert_int_equal(gale_driver_write(driver, pair[0], "abc", 3), 3);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), -EAGAIN);
	profile.ratios[GALE_FAULT_READ_WOULD_BLOCK] = (struct gale_ratio){0, 0};
	/* The data is still there, and a fresh READ edge says so. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 2);
	assert_true((events[0].ready & GALE_READY_READ) != 0);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 3);
	profile.ratios[GALE_FAULT_WRITE_WOULD_BLOCK] = (struct gale_ratio){1, 1};
	assert_int_equal(gale_driver_write(driver, pair[1], "x", 1), -EAGAIN);
	profile.ratios[GALE_FAULT_WRITE_WOULD_BLOCK] = (struct gale_ratio){0, 0};
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READ_WOULD_BLOCK], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_WRITE_WOULD_BLOCK], 1);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[1]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_fault_short_read_and_partial_write(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_only(GALE_FAULT_WRITE_PARTIAL);
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	options.seed = 42;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	char buf[16];
	int pair[2];
	pair_open(driver, pair);
	ssize_t written = gale_driver_write(driver, pair[0], "0123456789", 10);
	assert_true(written >= 1 && written <= 9);
	/* A single byte cannot be shortened. */
	assert_int_equal(gale_driver_write(driver, pair[0], "Z", 1), 1);
	profile.ratios[GALE_FAULT_WRITE_PARTIAL] = (struct gale_ratio){0, 0};
	profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){1, 1};
	ssize_t first = gale_driver_read(driver, pair[1], buf, sizeof(buf));
	assert_true(first >= 1 && first < written + 1);
	profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){0, 0};
	size_t left = sizeof(buf) - (size_t)first;
	ssize_t second = gale_driver_read(driver, pair[1], buf + first, left);
	assert_int_equal(first + second, written + 1);
	assert_memory_equal(buf, "0123456789", (size_t)written);
	assert_int_equal(buf[written], 'Z');
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_WRITE_PARTIAL], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READ_SHORT], 1);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

static void test_fault_spurious_stale_delay(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_only(GALE_FAULT_READY_SPURIOUS);
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	char buf[4];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 11, GALE_READY_READ), 0);
	/* Nothing to read, yet an event: readiness is a hint. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 11);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	assert_int_equal(gale_driver_read(driver, pair[0], buf, sizeof(buf)), -EAGAIN);
	profile.ratios[GALE_FAULT_READY_SPURIOUS] = (struct gale_ratio){0, 0};
	profile.ratios[GALE_FAULT_READY_STALE] = (struct gale_ratio){1, 1};
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	/* The old token comes back once after its deregistration. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 11);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	profile.ratios[GALE_FAULT_READY_STALE] = (struct gale_ratio){0, 0};
	profile.ratios[GALE_FAULT_READY_DELAY] = (struct gale_ratio){1, 1};
	assert_int_equal(gale_driver_fd_register(driver, pair[0], 12, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(driver, pair[1], "d", 1), 1);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	/* Held back at most ready_delay_ns_max (1 ms), then delivered. */
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].token, 12);
	int64_t now_ns = gale_driver_now_ns(driver);
	assert_true(now_ns >= 1 && now_ns <= MS);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READY_SPURIOUS], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READY_STALE], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READY_DELAY], 1);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[0]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
}

/* ---- Trace, stats, leaks, schedule --------------------------------------------------- */

static void test_trace_and_stats(void **state)
{
	(void)state;
	struct gale_trace trace;
	gale_trace_init(&trace, NULL, 64);
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.trace = &trace;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	char buf[8];
	int pair[2];
	pair_open(driver, pair);
	assert_int_equal(gale_driver_fd_register(driver, pair[1], 5, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(driver, pair[0], "abc", 3), 3);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_read(driver, pair[1], buf, sizeof(buf)), 3);
	const struct gale_trace_record expected[] = {
		{0, 0, GALE_TRACE_OP, GALE_TRACE_OP_SOCKETPAIR, BASE, 0, 0},
		{1, 0, GALE_TRACE_OP, GALE_TRACE_OP_FD_REGISTER, BASE + 1, GALE_READY_READ, 0},
		{2, 0, GALE_TRACE_OP, GALE_TRACE_OP_WRITE, BASE, 3, 3},
		{3, 0, GALE_TRACE_OP, GALE_TRACE_OP_WAIT, -1, UINT64_MAX, 1},
		{4, 0, GALE_TRACE_EVENT, 0, -1, 5, GALE_READY_READ},
		{5, 0, GALE_TRACE_OP, GALE_TRACE_OP_READ, BASE + 1, 8, 3},
	};
	size_t expected_len = sizeof(expected) / sizeof(expected[0]);
	assert_int_equal(gale_trace_kept_count(&trace), expected_len);
	const struct gale_trace_record *records = gale_trace_records(&trace);
	for (size_t i = 0; i < expected_len; i++) {
		assert_int_equal(records[i].step, expected[i].step);
		assert_int_equal(records[i].kind, expected[i].kind);
		assert_int_equal(records[i].op, expected[i].op);
		assert_int_equal(records[i].fd, expected[i].fd);
		assert_int_equal(records[i].a, expected[i].a);
		assert_int_equal(records[i].result, expected[i].result);
	}
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.ops_count, 5);
	assert_int_equal(stats.waits_count, 1);
	assert_int_equal(stats.events_count, 1);
	assert_int_equal(stats.segments_count, 1);
	assert_int_equal(stats.bytes_delivered, 3);
	assert_int_equal(stats.registrations_count, 1);
	assert_int_equal(stats.fds_open_count, 2);
	assert_int_equal(gale_driver_fd_deregister(driver, pair[1]), 0);
	fd_close(driver, pair[0]);
	fd_close(driver, pair[1]);
	gale_sim_test_finish(&sim);
	gale_trace_deinit(&trace);
}

static void test_deinit_busy_and_leak_report(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	char text[128];
	struct gale_sim_leaks leaks;
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(gale_sim_deinit(&sim), -EBUSY);
	assert_int_equal(gale_sim_leaks(&sim, &leaks), 1);
	assert_int_equal(leaks.fds_open_count, 1);
	assert_int_equal(leaks.registrations_count, 0);
	assert_int_equal(leaks.fds_len, 1);
	assert_int_equal(leaks.fds[0], BASE);
	assert_int_equal(leaks.fds[1], -1);
	assert_int_equal(gale_driver_fd_register(driver, fd, 1, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_leaks(&sim, &leaks), 2);
	assert_int_equal(leaks.registrations_count, 1);
	gale_sim_fd_describe(&sim, fd, text, sizeof(text));
	assert_string_equal(text, "fd 1048576 tcp new 0.0.0.0:0 registered");
	gale_sim_fd_describe(&sim, BASE + 9, text, sizeof(text));
	assert_string_equal(text, "fd 1048585 not open");
	assert_int_equal(gale_sim_deinit(&sim), -EBUSY);
	/* Still fully usable after a refused deinit. */
	assert_int_equal(gale_driver_fd_deregister(driver, fd), 0);
	fd_close(driver, fd);
	assert_int_equal(gale_sim_leaks(&sim, &leaks), 0);
	assert_int_equal(gale_sim_check_streams(&sim, text, sizeof(text)), GALE_SIM_CHECK_OK);
	assert_string_equal(text, "streams ok");
	assert_int_equal(gale_sim_deinit(&sim), 0);
	assert_null(sim.base.ops);
	/* The driver op releases everything, open fds included (it cannot report). */
	driver = sim_start(&sim, NULL);
	assert_int_equal(gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0), BASE);
	gale_driver_deinit(driver);
	assert_null(sim.base.ops);
}

static void test_schedule_hook(void **state)
{
	(void)state;
	struct gale_trace trace;
	gale_trace_init(&trace, NULL, 8);
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.trace = &trace;
	options.seed = 7;
	struct gale_sim sim;
	sim_start(&sim, &options);
	uint64_t draws = gale_entropy_draws_count(gale_sim_entropy(&sim));
	assert_int_equal(gale_sim_schedule(&sim, 1), 0);
	assert_int_equal(gale_entropy_draws_count(gale_sim_entropy(&sim)), draws);
	uint32_t zeros = 0;
	uint32_t seen[5] = {0};
	for (int i = 0; i < 4000; i++) {
		uint32_t index = gale_sim_schedule(&sim, 5);
		assert_true(index < 5);
		seen[index]++;
		zeros += index == 0;
	}
	/* 3/4 FIFO plus 1/4 * 1/5 uniform: index 0 about 80% of the time, others explored. */
	assert_true(zeros > 2900 && zeros < 3500);
	for (int i = 1; i < 5; i++)
		assert_true(seen[i] > 0);
	const struct gale_trace_record *records = gale_trace_records(&trace);
	assert_int_equal(records[0].kind, GALE_TRACE_SCHEDULE);
	assert_int_equal(records[0].a, 0);
	assert_int_equal(records[0].result, 1);
	gale_sim_test_finish(&sim);
	gale_trace_deinit(&trace);
	/* An exhausted fuzz input schedules FIFO. */
	struct gale_entropy empty;
	gale_entropy_init_bytes(&empty, NULL, 0);
	options = gale_sim_test_options(MS);
	options.entropy = &empty;
	sim_start(&sim, &options);
	for (uint32_t count = 1; count < 10; count++)
		assert_int_equal(gale_sim_schedule(&sim, count), 0);
	assert_ptr_equal(gale_sim_entropy(&sim), &empty);
	gale_sim_test_finish(&sim);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_default),
		cmocka_unit_test(test_init_rejects_bad_options),
		cmocka_unit_test(test_fd_numbers_lowest_first),
		cmocka_unit_test(test_fds_max_is_emfile),
		cmocka_unit_test(test_unknown_fd_is_ebadf),
		cmocka_unit_test(test_socket_rejects_unsupported),
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_edge_triggered_read),
		cmocka_unit_test(test_register_reports_once_and_reregister_rearms),
		cmocka_unit_test(test_backpressure_socketpair),
		cmocka_unit_test(test_stall_is_reported),
		cmocka_unit_test(test_time_jumps_to_the_next_event),
		cmocka_unit_test(test_pipe_semantics),
		cmocka_unit_test(test_socketpair_close_and_shutdown),
		cmocka_unit_test(test_recv_peek_and_vectors),
		cmocka_unit_test(test_fault_would_block_redelivers),
		cmocka_unit_test(test_fault_short_read_and_partial_write),
		cmocka_unit_test(test_fault_spurious_stale_delay),
		cmocka_unit_test(test_trace_and_stats),
		cmocka_unit_test(test_deinit_busy_and_leak_report),
		cmocka_unit_test(test_schedule_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
