/* SPDX-License-Identifier: MIT */
/*
 * Fidelity on the simulator: the cases of tests/sim/fidelity_cases.c, the same bodies and
 * expected answers as tests/os/test_os_fidelity.c runs on the kernel, plus the rules only
 * the simulator's own model has to state (sim.h): Linux's buffer-size bounds, and
 * shutdown(2) answering -ENOTCONN once both FINs are through.
 *
 * Methodology: each case runs on a quiet simulator (no faults: the answers must be exact)
 * with default latencies, for a few seeds (GALE_TEST_SEEDS / GALE_TEST_SEED as usual; the
 * seed only moves latencies), on a runtime over the simulated driver; the runtime's clock
 * is the virtual one, so every bounded wait is instant. Teardown requires the runtime
 * empty and the simulator to deinit with no fd or registration left. A failing seed is
 * printed. Reproduce: GALE_TEST_SEED=0x... ./test_sim_fidelity -t <name>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/sim.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "fidelity_cases.h"
#include "test_support.h"

#define SEEDS_DEFAULT 4

struct sim_world {
	struct gale_sim sim;      /* The simulated driver. */
	struct fidelity fidelity; /* The shared cases' world over it. */
};

static void world_open(struct sim_world *world, uint64_t seed)
{
	struct gale_sim_options options = gale_sim_options_default();
	options.seed = seed;
	assert_int_equal(gale_sim_init(&world->sim, &options), 0);
	fidelity_open(&world->fidelity, &world->sim.base);
}

static void world_close(struct sim_world *world)
{
	fidelity_close(&world->fidelity);
	struct gale_sim_leaks leaks;
	assert_int_equal(gale_sim_leaks(&world->sim, &leaks), 0);
	assert_int_equal(gale_sim_check_streams(&world->sim, NULL, 0), GALE_SIM_CHECK_OK);
	assert_int_equal(gale_sim_deinit(&world->sim), 0);
}

/* Runs body on a fresh world for every seed of the sweep. */
static void seeds_run(void (*body)(struct sim_world *world))
{
	struct gale_test_seeds seeds = gale_test_seeds_get(SEEDS_DEFAULT);
	for (uint64_t i = 0; i < seeds.count; i++) {
		uint64_t seed = seeds.first + i;
		struct sim_world *world = calloc(1, sizeof(*world));
		assert_non_null(world);
		fprintf(stderr, "seed=0x%llx\n", (unsigned long long)seed);
		world_open(world, seed);
		body(world);
		world_close(world);
		free(world);
	}
}

#define SHARED_CASE(name)                                                                  \
	static void name##_body(struct sim_world *world)                                   \
	{                                                                                  \
		fidelity_##name(&world->fidelity);                                         \
	}                                                                                  \
	static void name(void **state)                                                     \
	{                                                                                  \
		(void)state;                                                               \
		seeds_run(name##_body);                                                    \
	}

SHARED_CASE(shutdown_after_peer_reset)
SHARED_CASE(shutdown_after_both_sides_finished)
SHARED_CASE(shutdown_after_peer_closed)
SHARED_CASE(guard_after_clear_reports_nothing)
SHARED_CASE(async_fd_readable_woken_by_data_reports_read)
SHARED_CASE(async_fd_writable_woken_reports_write)
SHARED_CASE(async_fd_readable_woken_by_fin_reports_read_rdhup)
SHARED_CASE(tcp_readable_woken_by_data_reports_read)
SHARED_CASE(listener_from_fd_refuses_what_is_not_listening)
SHARED_CASE(buffer_sizes_read_back_doubled)
SHARED_CASE(acceptconn_reads_listening_state)
SHARED_CASE(smaller_buffers_queue_fewer_bytes)
SHARED_CASE(peer_address_gone_after_both_fins)
SHARED_CASE(listener_shutdown_stops_listening)
SHARED_CASE(sockopt_errors_fd_first)

/* ---- Simulator-only cases --------------------------------------------------------------- */

/* A listening socket made through the driver (the simulator's "another program"). */
static void listener_from_fd_takes_a_listener_made_through_the_driver_body(
	struct sim_world *world)
{
	struct gale_driver *driver = &world->sim.base;
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct gale_socket_addr addr;
	assert_int_equal(gale_socket_addr_parse("127.0.0.1:0", &addr), 0);
	assert_int_equal(gale_driver_bind(driver, fd, (const struct sockaddr *)&addr.storage,
					  addr.len), 0);
	assert_int_equal(gale_driver_listen(driver, fd, 16), 0);
	fidelity_listener_from_fd_accepts(&world->fidelity, fd);
	/* It owned the fd: closed now, so the number is no fd at all. */
	int value;
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value),
			 -EBADF);
}

static void listener_from_fd_takes_a_listener_made_through_the_driver(void **state)
{
	(void)state;
	seeds_run(listener_from_fd_takes_a_listener_made_through_the_driver_body);
}

/* Linux's sock_setsockopt for the values a kernel with default sysctls clamps. */
static void buffer_sizes_read_back_with_linux_bounds_body(struct sim_world *world)
{
	struct gale_driver *driver = &world->sim.base;
	static const struct {
		int value;   /* Set. */
		int sndbuf;  /* SO_SNDBUF read back. */
		int rcvbuf;  /* SO_RCVBUF read back. */
	} cases[] = {
		{0, 4608, 2304},          {1, 4608, 2304},         {1152, 4608, 2304},
		{2304, 4608, 4608},       {2305, 4610, 4610},      {106496, 212992, 212992},
		{212992, 425984, 425984}, {1 << 30, 425984, 425984}, {INT32_MAX, 425984, 425984},
	};
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	int tcp_fd = gale_driver_socket(driver, AF_INET6, SOCK_STREAM, 0);
	assert_true(tcp_fd >= 0);
	const int targets[] = {tcp_fd, fds[0]};
	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int got = 0;
			assert_int_equal(gale_driver_sockopt_set(driver, targets[t],
								 GALE_SOCKOPT_SNDBUF,
								 cases[i].value), 0);
			assert_int_equal(gale_driver_sockopt_get(driver, targets[t],
								 GALE_SOCKOPT_SNDBUF, &got), 0);
			assert_int_equal(got, cases[i].sndbuf);
			assert_int_equal(gale_driver_sockopt_set(driver, targets[t],
								 GALE_SOCKOPT_RCVBUF,
								 cases[i].value), 0);
			assert_int_equal(gale_driver_sockopt_get(driver, targets[t],
								 GALE_SOCKOPT_RCVBUF, &got), 0);
			assert_int_equal(got, cases[i].rcvbuf);
		}
		/* Negative sizes stay -EINVAL, by gale's rule for values. */
		assert_int_equal(gale_driver_sockopt_set(driver, targets[t], GALE_SOCKOPT_SNDBUF,
							 -1), -EINVAL);
	}
	/* Unset sizes read back the simulator's own bound (sim.h: a deliberate difference). */
	int fresh = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fresh >= 0);
	int got = 0;
	assert_int_equal(gale_driver_sockopt_get(driver, fresh, GALE_SOCKOPT_RCVBUF, &got), 0);
	assert_int_equal((size_t)got, gale_sim_options_default().socket_buf_size);
	assert_int_equal(gale_driver_close(driver, fresh), 0);
	assert_int_equal(gale_driver_close(driver, tcp_fd), 0);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
}

static void buffer_sizes_read_back_with_linux_bounds(void **state)
{
	(void)state;
	seeds_run(buffer_sizes_read_back_with_linux_bounds_body);
}

/* An accepted socket inherits the listener's (doubled) sizes, as on Linux. */
static void accepted_socket_inherits_buffer_sizes_body(struct sim_world *world)
{
	struct fidelity *f = &world->fidelity;
	int listener_fd = gale_tcp_listener_fd(&f->listener);
	assert_int_equal(gale_driver_sockopt_set(f->driver, listener_fd, GALE_SOCKOPT_RCVBUF,
						 4096), 0);
	struct gale_tcp_stream client;
	struct gale_tcp_stream server;
	fidelity_connect_accept(f, &f->listener, &f->listener_addr, &client, &server);
	int got = 0;
	assert_int_equal(gale_driver_sockopt_get(f->driver, gale_tcp_stream_fd(&server),
						 GALE_SOCKOPT_RCVBUF, &got), 0);
	assert_int_equal(got, 8192);
	assert_int_equal(gale_tcp_stream_close(&client), 0);
	assert_int_equal(gale_tcp_stream_close(&server), 0);
}

static void accepted_socket_inherits_buffer_sizes(void **state)
{
	(void)state;
	seeds_run(accepted_socket_inherits_buffer_sizes_body);
}

/* The driver-level rule itself: -ENOTCONN exactly from the arrival of the second FIN. */
static void shutdown_is_not_connected_once_both_fins_are_through_body(struct sim_world *world)
{
	struct fidelity *f = &world->fidelity;
	struct gale_driver *driver = f->driver;
	int client_fd = gale_tcp_stream_fd(&f->client);
	int server_fd = gale_tcp_stream_fd(&f->server);
	/* Half-closed one way: both still connected. */
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_shutdown(driver, server_fd, GALE_SHUTDOWN_READ), 0);
	/* The server's FIN is on its way: neither end has both FINs through yet. */
	assert_int_equal(gale_driver_shutdown(driver, server_fd, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE), 0);
	/* Once every segment arrived (the clock runs to the last one): TCP_CLOSE both. */
	int64_t deadline_ns = gale_runtime_now_ns(&f->runtime) + GALE_TEST_EVENT_WAIT_NS;
	while (gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE) == 0) {
		assert_true(gale_runtime_now_ns(&f->runtime) < deadline_ns);
		assert_int_equal(gale_runtime_turn(&f->runtime, 1000 * 1000), 0);
	}
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE), -ENOTCONN);
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_READ), -ENOTCONN);
	while (gale_driver_shutdown(driver, server_fd, GALE_SHUTDOWN_WRITE) == 0) {
		assert_true(gale_runtime_now_ns(&f->runtime) < deadline_ns);
		assert_int_equal(gale_runtime_turn(&f->runtime, 1000 * 1000), 0);
	}
	assert_int_equal(gale_driver_shutdown(driver, server_fd, GALE_SHUTDOWN_BOTH), -ENOTCONN);
	/* Socketpairs never say it (unix_shutdown does not). */
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_shutdown(driver, fds[0], GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_shutdown(driver, fds[1], GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_shutdown(driver, fds[0], GALE_SHUTDOWN_BOTH), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	assert_int_equal(gale_driver_shutdown(driver, fds[0], GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
}

static void shutdown_is_not_connected_once_both_fins_are_through(void **state)
{
	(void)state;
	seeds_run(shutdown_is_not_connected_once_both_fins_are_through_body);
}

/* Writes until -EAGAIN; returns the bytes taken. */
static size_t sim_fill(struct gale_driver *driver, int fd)
{
	static const uint8_t chunk[1000]; /* Not a divisor of any limit: the last write is short. */
	size_t total = 0;
	for (;;) {
		ssize_t n = gale_driver_write(driver, fd, chunk, sizeof(chunk));
		if (n == -EAGAIN)
			return total;
		assert_true(n > 0);
		total += (size_t)n;
		assert_true(total <= ((size_t)1 << 24));
	}
}

/* The model of sim.h exactly: a set size bounds the stream at once, with or without
 * latency (bytes in flight count), and reading gives the space back. */
static void buffer_sizes_bound_the_stream_body(struct sim_world *world)
{
	struct fidelity *f = &world->fidelity;
	struct gale_driver *driver = f->driver;
	size_t buf = gale_sim_options_default().socket_buf_size;
	int client_fd = gale_tcp_stream_fd(&f->client);
	int server_fd = gale_tcp_stream_fd(&f->server);
	/* The reader's RCVBUF alone: its half, plus the writer's default half. */
	assert_int_equal(gale_driver_sockopt_set(driver, server_fd, GALE_SOCKOPT_RCVBUF, 4096), 0);
	assert_int_equal(sim_fill(driver, client_fd), 4096 + buf - buf / 2);
	/* Lowered below what is queued: nothing more fits until the reader drains it. */
	assert_int_equal(gale_driver_sockopt_set(driver, client_fd, GALE_SOCKOPT_SNDBUF, 4096), 0);
	assert_int_equal(gale_driver_write(driver, client_fd, "x", 1), -EAGAIN);
	/* The other direction is untouched: the default bound. */
	assert_int_equal(sim_fill(driver, server_fd), buf);
	uint8_t sink[4096];
	size_t drained = 0;
	int64_t deadline_ns = gale_runtime_now_ns(&f->runtime) + GALE_TEST_EVENT_WAIT_NS;
	while (drained < 4096 + buf - buf / 2) {
		ssize_t n = gale_driver_read(driver, server_fd, sink, sizeof(sink));
		if (n == -EAGAIN) {
			assert_true(gale_runtime_now_ns(&f->runtime) < deadline_ns);
			assert_int_equal(gale_runtime_turn(&f->runtime, 1000 * 1000), 0);
			continue;
		}
		assert_true(n > 0);
		drained += (size_t)n;
	}
	/* Both set to 4096: 8192 bytes (Linux on loopback: 9216). */
	assert_int_equal(sim_fill(driver, client_fd), 8192);
	/* A socketpair: the writer's SNDBUF alone counts (the reader's RCVBUF does not). */
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[1], GALE_SOCKOPT_RCVBUF, 4096), 0);
	assert_int_equal(sim_fill(driver, fds[0]), buf);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[1], GALE_SOCKOPT_SNDBUF, 4096), 0);
	assert_int_equal(sim_fill(driver, fds[1]), 4096);
	assert_int_equal(gale_driver_read(driver, fds[0], sink, 1000), 1000);
	assert_int_equal(sim_fill(driver, fds[1]), 1000);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
}

static void buffer_sizes_bound_the_stream(void **state)
{
	(void)state;
	seeds_run(buffer_sizes_bound_the_stream_body);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shutdown_after_peer_reset),
		cmocka_unit_test(shutdown_after_both_sides_finished),
		cmocka_unit_test(shutdown_after_peer_closed),
		cmocka_unit_test(guard_after_clear_reports_nothing),
		cmocka_unit_test(async_fd_readable_woken_by_data_reports_read),
		cmocka_unit_test(async_fd_writable_woken_reports_write),
		cmocka_unit_test(async_fd_readable_woken_by_fin_reports_read_rdhup),
		cmocka_unit_test(tcp_readable_woken_by_data_reports_read),
		cmocka_unit_test(listener_from_fd_refuses_what_is_not_listening),
		cmocka_unit_test(buffer_sizes_read_back_doubled),
		cmocka_unit_test(acceptconn_reads_listening_state),
		cmocka_unit_test(smaller_buffers_queue_fewer_bytes),
		cmocka_unit_test(peer_address_gone_after_both_fins),
		cmocka_unit_test(listener_shutdown_stops_listening),
		cmocka_unit_test(sockopt_errors_fd_first),
		cmocka_unit_test(listener_from_fd_takes_a_listener_made_through_the_driver),
		cmocka_unit_test(buffer_sizes_read_back_with_linux_bounds),
		cmocka_unit_test(accepted_socket_inherits_buffer_sizes),
		cmocka_unit_test(shutdown_is_not_connected_once_both_fins_are_through),
		cmocka_unit_test(buffer_sizes_bound_the_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
