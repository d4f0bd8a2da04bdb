/* SPDX-License-Identifier: MIT */
/*
 * Short I/O in both worlds (issue 18): the driver capability "a short read proves the
 * stream drained, a short write proves it full" (GALE_DRIVER_CAP_*), as the simulator
 * models it (sim.h short_io_proves), as the fault driver withdraws it while it shortens
 * reads or writes itself, and as the reactor uses it (one place: its attempt).
 *
 * Methodology: the sim runs with exact options (no faults but the one a test switches on
 * at 1/1, fixed latency, socketpairs delivered inside write), so every count and event is
 * pinned; the two worlds run the same steps and differ only in short_io_proves. Nothing
 * depends on a seed; replay one test with -t NAME.
 */
#include <errno.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/sim_fault.h>
#include <gale/sim_profile.h>
#include <gale/tcp.h>

#include "sim_test_support.h"
#include "test_support.h"

#define MS INT64_C(1000000)
#define CAPS_BOTH (GALE_DRIVER_CAP_READ_SHORT_DRAINED | GALE_DRIVER_CAP_WRITE_SHORT_FULL)

/* A profile with nothing on but READ_SHORT and WRITE_PARTIAL, both at 1/1. */
static struct gale_fault_profile shortening_profile(void)
{
	struct gale_fault_profile profile = *gale_fault_profile_find("none");
	profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){1, 1};
	profile.ratios[GALE_FAULT_WRITE_PARTIAL] = (struct gale_ratio){1, 1};
	return profile;
}

static void sim_start(struct gale_sim *sim, bool linux_world,
		      const struct gale_fault_profile *profile)
{
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.short_io_proves = linux_world;
	options.profile = profile;
	assert_int_equal(gale_sim_init(sim, &options), 0);
}

/* ---- The simulator ------------------------------------------------------------------- */

static void test_sim_declares_the_capability_only_in_linux_world(void **state)
{
	(void)state;
	struct gale_sim sim;
	sim_start(&sim, false, NULL);
	assert_int_equal(gale_driver_caps(&sim.base), 0);
	gale_sim_test_finish(&sim);
	sim_start(&sim, true, NULL);
	assert_int_equal(gale_driver_caps(&sim.base), CAPS_BOTH);
	gale_sim_test_finish(&sim);
}

/* Writes len bytes on fd (asserting all of them go). */
static void write_all_now(struct gale_driver *driver, int fd, size_t len)
{
	char bytes[256];
	assert_true(len <= sizeof(bytes));
	memset(bytes, 'x', len);
	assert_int_equal(gale_driver_write(driver, fd, bytes, len), (ssize_t)len);
}

/* Linux's world: even with READ_SHORT at 1/1, a read is short only when it drained what
 * was delivered, and the next arrival is a new edge. */
static void test_linux_world_short_read_drains_and_new_data_is_an_edge(void **state)
{
	(void)state;
	struct gale_fault_profile profile = shortening_profile();
	struct gale_sim sim;
	sim_start(&sim, true, &profile);
	struct gale_driver *driver = &sim.base;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(driver, fds[1], 7, GALE_READY_READ), 0);
	write_all_now(driver, fds[0], 100);
	struct gale_event events[8];
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	char buf[64];
	assert_int_equal(gale_driver_read(driver, fds[1], buf, sizeof(buf)), 64);
	assert_int_equal(gale_driver_read(driver, fds[1], buf, sizeof(buf)), 36); /* Drained. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	write_all_now(driver, fds[0], 10);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 7);
	assert_true((events[0].ready & GALE_READY_READ) != 0);
	assert_int_equal(gale_driver_read(driver, fds[1], buf, sizeof(buf)), 10);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READ_SHORT], 0);
	assert_int_equal(stats.faults.injected[GALE_FAULT_WRITE_PARTIAL], 0);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[1]), 0);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	gale_sim_test_finish(&sim);
}

/* The conservative world: READ_SHORT leaves bytes queued, and no new edge comes for them:
 * a reader that took the short read for "drained" would wait forever (Tokio #5866). */
static void test_conservative_world_short_read_leaves_bytes_without_an_edge(void **state)
{
	(void)state;
	struct gale_fault_profile profile = shortening_profile();
	profile.ratios[GALE_FAULT_WRITE_PARTIAL] = (struct gale_ratio){0, 0};
	struct gale_sim sim;
	sim_start(&sim, false, &profile);
	struct gale_driver *driver = &sim.base;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(driver, fds[1], 7, GALE_READY_READ), 0);
	write_all_now(driver, fds[0], 100);
	struct gale_event events[8];
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	char buf[128];
	ssize_t n = gale_driver_read(driver, fds[1], buf, sizeof(buf));
	assert_true(n >= 1 && n < 100); /* Short, with bytes still queued. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 0);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_READ_SHORT], 1);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[1]), 0);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	gale_sim_test_finish(&sim);
}

/* ---- The fault driver ---------------------------------------------------------------- */

static void test_fault_driver_withdraws_what_it_breaks(void **state)
{
	(void)state;
	struct gale_sim sim;
	sim_start(&sim, true, NULL);
	struct gale_fault_profile profile = *gale_fault_profile_find("none");
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 1);
	struct gale_fault_driver fault;
	assert_int_equal(gale_fault_driver_init(&fault, &sim.base, &profile, &entropy, NULL), 0);
	assert_int_equal(gale_driver_caps(&fault.base), CAPS_BOTH);
	profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){1, 100};
	assert_int_equal(gale_driver_caps(&fault.base), GALE_DRIVER_CAP_WRITE_SHORT_FULL);
	profile.ratios[GALE_FAULT_WRITE_PARTIAL] = (struct gale_ratio){1, 100};
	assert_int_equal(gale_driver_caps(&fault.base), 0);
	profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){0, 0};
	assert_int_equal(gale_driver_caps(&fault.base), GALE_DRIVER_CAP_READ_SHORT_DRAINED);
	gale_fault_driver_deinit(&fault);
	gale_sim_test_finish(&sim);
	/* Over a driver that vouches for nothing it vouches for nothing either. */
	sim_start(&sim, false, NULL);
	profile = *gale_fault_profile_find("none");
	assert_int_equal(gale_fault_driver_init(&fault, &sim.base, &profile, &entropy, NULL), 0);
	assert_int_equal(gale_driver_caps(&fault.base), 0);
	gale_fault_driver_deinit(&fault);
	gale_sim_test_finish(&sim);
}

/* ---- The reactor's attempt ----------------------------------------------------------- */

struct world {
	struct gale_sim sim;
	struct gale_runtime runtime;
	int fds[2];                  /* fds[1] is the AsyncFd's; fds[0] its peer. */
	struct gale_async_fd async_fd;
};

static void world_open(struct world *w, bool linux_world, bool stream)
{
	sim_start(&w->sim, linux_world, NULL);
	assert_int_equal(gale_runtime_init(&w->runtime, &w->sim.base, NULL), 0);
	assert_int_equal(gale_driver_socketpair(&w->sim.base, w->fds), 0);
	assert_int_equal(gale_async_fd_init(&w->async_fd, &w->runtime, w->fds[1]), 0);
	if (stream)
		assert_int_equal(gale_async_fd_stream_set(&w->async_fd), 0);
	assert_true(gale_reactor_turn(&w->runtime.reactor, 0) >= 1); /* WRITE, at once. */
}

static void world_close(struct world *w)
{
	assert_int_equal(gale_async_fd_close(&w->async_fd), 0);
	assert_int_equal(gale_driver_close(&w->sim.base, w->fds[0]), 0);
	assert_int_equal(gale_runtime_deinit(&w->runtime), 0);
	gale_sim_test_finish(&w->sim);
}

static uint32_t world_ready(const struct world *w)
{
	return gale_reactor_ready_get(&w->runtime.reactor, w->async_fd.priv_token);
}

/* One typed read of 64 bytes after 10 arrived: returns the count, READ kept or not. */
static bool read_short_keeps_ready(bool linux_world, bool stream)
{
	struct world w;
	world_open(&w, linux_world, stream);
	write_all_now(&w.sim.base, w.fds[0], 10);
	assert_true(gale_reactor_turn(&w.runtime.reactor, 0) >= 1);
	assert_true((world_ready(&w) & GALE_READY_READ) != 0);
	struct gale_cx cx = {gale_waker_none()};
	char buf[64];
	size_t n = 0;
	assert_int_equal(gale_async_fd_poll_read(&w.async_fd, &cx, NULL, NULL, buf, sizeof(buf),
						 &n), 0);
	assert_int_equal(n, 10);
	bool kept = (world_ready(&w) & GALE_READY_READ) != 0;
	/* Either way the next poll is right: one -EAGAIN read (kept) or none (cleared). */
	uint64_t ops_before = gale_sim_stats_get(&w.sim).ops_count;
	assert_int_equal(gale_async_fd_poll_read(&w.async_fd, &cx, NULL, NULL, buf, sizeof(buf),
						 &n), GALE_PENDING);
	assert_int_equal(gale_sim_stats_get(&w.sim).ops_count - ops_before, kept ? 1 : 0);
	world_close(&w);
	return kept;
}

static void test_reactor_clears_after_a_short_read_exactly_where_vouched(void **state)
{
	(void)state;
	assert_false(read_short_keeps_ready(true, true));
	assert_true(read_short_keeps_ready(false, true)); /* The driver vouches for nothing. */
	assert_true(read_short_keeps_ready(true, false)); /* Not declared a stream. */
}

static ssize_t general_read(void *data, struct gale_driver *driver, int fd)
{
	return gale_driver_read(driver, fd, data, 64);
}

/* The general form never clears on a count: the reactor cannot see what was asked. */
static void test_general_form_keeps_readiness_after_a_short_count(void **state)
{
	(void)state;
	struct world w;
	world_open(&w, true, true);
	write_all_now(&w.sim.base, w.fds[0], 10);
	assert_true(gale_reactor_turn(&w.runtime.reactor, 0) >= 1);
	struct gale_cx cx = {gale_waker_none()};
	char buf[64];
	ssize_t result = 0;
	assert_int_equal(gale_async_fd_poll_io(&w.async_fd, &cx, GALE_DIRECTION_READ, general_read,
					       buf, &result), 0);
	assert_int_equal(result, 10);
	assert_true((world_ready(&w) & GALE_READY_READ) != 0);
	world_close(&w);
}

/* A guard's typed read: a short count clears READ (and the guard stops reporting it). */
static void test_guard_try_read_clears_after_a_short_read_where_vouched(void **state)
{
	(void)state;
	struct world w;
	world_open(&w, true, true);
	write_all_now(&w.sim.base, w.fds[0], 10);
	assert_true(gale_reactor_turn(&w.runtime.reactor, 0) >= 1);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&w.async_fd, &cx, &guard), 0);
	char buf[64];
	assert_int_equal(gale_async_fd_guard_try_read(&guard, NULL, NULL, buf, sizeof(buf)), 10);
	assert_int_equal(gale_async_fd_guard_ready(&guard) & GALE_READY_READ, 0);
	assert_int_equal(world_ready(&w) & GALE_READY_READ, 0);
	assert_int_equal(gale_async_fd_guards_live(&w.async_fd), 0);
	world_close(&w);
}

/* A short write (the buffer filled) clears WRITE; freed space is a new edge. */
static void test_short_write_clears_write_and_space_brings_an_edge(void **state)
{
	(void)state;
	struct world w;
	world_open(&w, true, true);
	struct gale_cx cx = {gale_waker_none()};
	static char big[128 * 1024];
	size_t n = 0;
	assert_int_equal(gale_async_fd_poll_write(&w.async_fd, &cx, NULL, NULL, big, sizeof(big),
						  &n), 0);
	assert_true(n > 0 && n < sizeof(big));
	assert_int_equal(world_ready(&w) & GALE_READY_WRITE, 0);
	assert_int_equal(gale_async_fd_poll_write(&w.async_fd, &cx, NULL, NULL, big, sizeof(big),
						  &n), GALE_PENDING);
	char sink[4096];
	assert_int_equal(gale_driver_read(&w.sim.base, w.fds[0], sink, sizeof(sink)), 4096);
	assert_true(gale_reactor_turn(&w.runtime.reactor, 0) >= 1);
	assert_true((world_ready(&w) & GALE_READY_WRITE) != 0);
	world_close(&w);
}

/* ---- TcpStream, end to end ----------------------------------------------------------- */

struct pinger {
	struct gale_tcp_stream *stream;
	bool first;             /* Sends first. */
	uint32_t rounds;        /* Messages each way. */
	uint32_t sent, received;
	size_t have;            /* Bytes of the next message in hand. */
	char in[4096];
};

static int pinger_poll(void *data, struct gale_cx *cx)
{
	struct pinger *p = data;
	while (p->received < p->rounds || p->sent < p->rounds) {
		if (p->first ? p->sent == p->received : p->sent < p->received) {
			size_t n = 0;
			int rc = gale_tcp_stream_poll_write(p->stream, cx, "0123456789abcdef", 16,
							    &n);
			if (rc != 0)
				return rc;
			assert_int_equal(n, 16); /* Far below the buffer: never short. */
			p->sent++;
			continue;
		}
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, p->in + p->have, sizeof(p->in) - p->have);
		int rc = gale_tcp_stream_poll_read(p->stream, cx, &rb);
		if (rc != 0)
			return rc;
		assert_true(rb.len_filled > 0);
		p->have += rb.len_filled;
		while (p->have >= 16) {
			memmove(p->in, p->in + 16, p->have - 16);
			p->have -= 16;
			p->received++;
		}
	}
	return 0;
}

/* Ping-pong of 16-byte messages read with 4 KiB buffers: in both worlds it completes; in
 * Linux's world every read is short and clears, so no read ever says -EAGAIN. */
static uint64_t ping_pong_ops(bool linux_world)
{
	struct gale_sim sim;
	sim_start(&sim, linux_world, NULL);
	struct gale_runtime runtime;
	assert_int_equal(gale_runtime_init(&runtime, &sim.base, NULL), 0);
	int fds[2];
	assert_int_equal(gale_driver_socketpair(&sim.base, fds), 0);
	static struct gale_tcp_stream streams[2];
	static struct pinger pingers[2];
	struct gale_task_handle handles[2];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(gale_tcp_stream_from_fd(&streams[i], &runtime, fds[i]), 0);
		pingers[i] = (struct pinger){.stream = &streams[i], .first = i == 0, .rounds = 100};
		assert_int_equal(gale_executor_spawn(&runtime.executor, pinger_poll, &pingers[i],
						     &handles[i]), 0);
	}
	uint64_t ops_before = gale_sim_stats_get(&sim).ops_count;
	int run_rc = gale_runtime_run(&runtime);
	if (run_rc != 0)
		fail_msg("world %d: run %d; sent %u/%u received %u/%u have %zu/%zu", linux_world,
			 run_rc, pingers[0].sent, pingers[1].sent, pingers[0].received,
			 pingers[1].received, pingers[0].have, pingers[1].have);
	uint64_t ops = gale_sim_stats_get(&sim).ops_count - ops_before;
	for (int i = 0; i < 2; i++) {
		int result = -1;
		assert_int_equal(gale_executor_try_join(&runtime.executor, handles[i], &result), 0);
		assert_int_equal(result, 0);
		assert_int_equal(pingers[i].received, 100);
		assert_int_equal(gale_tcp_stream_close(&streams[i]), 0);
	}
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	gale_sim_test_finish(&sim);
	return ops;
}

static void test_tcp_ping_pong_in_both_worlds(void **state)
{
	(void)state;
	uint64_t linux_world = ping_pong_ops(true);
	uint64_t conservative = ping_pong_ops(false);
	/* 100 messages each way: the conservative world pays one -EAGAIN read per message
	 * received, except each side's last (its loop ends there): 198 driver calls more. */
	if (conservative != linux_world + 198)
		fail_msg("ops: conservative %llu, Linux's world %llu",
			 (unsigned long long)conservative, (unsigned long long)linux_world);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_declares_the_capability_only_in_linux_world),
		cmocka_unit_test(test_linux_world_short_read_drains_and_new_data_is_an_edge),
		cmocka_unit_test(test_conservative_world_short_read_leaves_bytes_without_an_edge),
		cmocka_unit_test(test_fault_driver_withdraws_what_it_breaks),
		cmocka_unit_test(test_reactor_clears_after_a_short_read_exactly_where_vouched),
		cmocka_unit_test(test_general_form_keeps_readiness_after_a_short_count),
		cmocka_unit_test(test_guard_try_read_clears_after_a_short_read_where_vouched),
		cmocka_unit_test(test_short_write_clears_write_and_space_brings_an_edge),
		cmocka_unit_test(test_tcp_ping_pong_in_both_worlds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
