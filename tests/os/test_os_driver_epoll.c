/* SPDX-License-Identifier: MIT */
/*
 * The epoll driver against the real kernel: pipes, socketpairs and loopback TCP only.
 *
 * Methodology: every test gets a fresh driver (setup) and teardown deinit's it, then checks
 * that the process has exactly as many open fds as before setup, so a leaked fd fails the
 * test. Readiness is checked with wait(timeout 0) right after the action that causes it:
 * pipe and socketpair wakeups are synchronous in the kernel, so the exact event count is
 * deterministic. Loopback TCP is not synchronous (the kernel finishes each side of a
 * handshake separately, later under load), so it waits for the event itself, bounded by
 * GALE_TEST_EVENT_WAIT_NS (a safety net, never a sleep); no assertion depends on how fast
 * the scheduler is. EINTR and odd errno values are injected through the driver's own
 * syscall table (gale_driver_epoll_syscall_set), so the retry loops run on the real code
 * path. SIGPIPE is put to its default action (not ignored) in the tests that write to a
 * dead peer: if the driver let one through, the test process would die.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gale/driver_epoll.h>
#include <gale/driver_native.h>

#include "test_support.h"

#define EVENTS_CAP 8
#define LOOPBACK_TIMEOUT_NS GALE_TEST_EVENT_WAIT_NS
#define NS_PER_MS INT64_C(1000000)

struct fixture {
	struct gale_driver_epoll epoll; /* The driver under test. */
	struct gale_driver *driver;     /* &epoll.base, what the ops are called through. */
	int fds_open_before;            /* Open fds before init; teardown compares. */
};

/* ---- helpers ------------------------------------------------------------------------ */

static int fds_open_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	int count = 0;
	for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
		if (entry->d_name[0] != '.')
			count++;
	}
	closedir(dir);
	return count;
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	fixture->fds_open_before = fds_open_count();
	assert_int_equal(gale_driver_epoll_init(&fixture->epoll), 0);
	fixture->driver = &fixture->epoll.base;
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	gale_driver_deinit(fixture->driver);
	assert_null(fixture->epoll.base.ops);
	assert_int_equal(fds_open_count(), fixture->fds_open_before);
	free(fixture);
	return 0;
}

static void fd_close_checked(struct fixture *fixture, int fd)
{
	assert_int_equal(gale_driver_close(fixture->driver, fd), 0);
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int wait_now(struct fixture *fixture, struct gale_event *events)
{
	return gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0);
}

/* Waits (bounded) until token shows any readiness; returns the bits seen, 0 on timeout. */
static uint32_t wait_for_token(struct fixture *fixture, uint64_t token)
{
	int64_t deadline_ns = gale_driver_now_ns(fixture->driver) + LOOPBACK_TIMEOUT_NS;
	uint32_t ready = 0;
	while (ready == 0 && gale_driver_now_ns(fixture->driver) < deadline_ns) {
		struct gale_event events[EVENTS_CAP];
		int count = gale_driver_wait(fixture->driver, events, EVENTS_CAP,
					     LOOPBACK_TIMEOUT_NS / 10);
		assert_true(count >= 0);
		for (int i = 0; i < count; i++) {
			if (events[i].token == token)
				ready |= events[i].ready;
		}
	}
	return ready;
}

/* Reads until -EAGAIN; returns the byte count. Asserts no EOF and no error. */
static size_t fd_drain(struct fixture *fixture, int fd)
{
	char buf[65536];
	size_t total = 0;
	for (;;) {
		ssize_t rc = gale_driver_read(fixture->driver, fd, buf, sizeof(buf));
		if (rc == -EAGAIN)
			return total;
		assert_true(rc > 0);
		total += (size_t)rc;
	}
}

static size_t fd_fill(struct fixture *fixture, int fd)
{
	char buf[65536];
	size_t total = 0;
	for (;;) {
		ssize_t rc = gale_driver_write(fixture->driver, fd, buf, sizeof(buf));
		if (rc == -EAGAIN)
			return total;
		assert_true(rc > 0);
		total += (size_t)rc;
	}
}

static void assert_one_event(struct fixture *fixture, uint64_t token, uint32_t ready)
{
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(wait_now(fixture, events), 1);
	assert_int_equal(events[0].token, token);
	assert_int_equal(events[0].ready, ready);
}

static void assert_no_event(struct fixture *fixture)
{
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(wait_now(fixture, events), 0);
}

static void assert_nonblocking_cloexec(int fd)
{
	assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
}

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
static int tcp_listener_open(struct fixture *fixture, struct sockaddr_in *addr_out)
{
	int fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(gale_driver_bind(fixture->driver, fd, (struct sockaddr *)&addr,
					  sizeof(addr)),
			 0);
	assert_int_equal(gale_driver_listen(fixture->driver, fd, 16), 0);
	struct sockaddr_storage local;
	socklen_t local_len;
	assert_int_equal(gale_driver_addr_local(fixture->driver, fd, &local, &local_len), 0);
	assert_int_equal(local_len, sizeof(struct sockaddr_in));
	memcpy(addr_out, &local, sizeof(*addr_out));
	assert_int_not_equal(addr_out->sin_port, 0);
	return fd;
}

/*
 * SIGPIPE at its default action (terminate) and unblocked, so a SIGPIPE the driver lets
 * through kills the test. The previous state is restored by sigpipe_restore.
 */
struct sigpipe_state {
	struct sigaction action_old; /* Disposition before the test. */
	sigset_t mask_old;           /* Thread mask before the test. */
};

static void sigpipe_default_install(struct sigpipe_state *saved)
{
	struct sigaction action = {.sa_handler = SIG_DFL};
	sigemptyset(&action.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &action, &saved->action_old), 0);
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &pipe_set, &saved->mask_old), 0);
}

static void sigpipe_restore(const struct sigpipe_state *saved)
{
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &saved->mask_old, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &saved->action_old, NULL), 0);
}

static bool sigpipe_is_blocked(void)
{
	sigset_t mask;
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
	return sigismember(&mask, SIGPIPE) == 1;
}

static bool sigpipe_is_pending(void)
{
	sigset_t pending;
	assert_int_equal(sigpending(&pending), 0);
	return sigismember(&pending, SIGPIPE) == 1;
}

/*
 * ---- syscall fakes ----
 * A fake has the exact libc signature, so it cannot take a context pointer: the fakes share
 * this file-local record, which each test resets before installing one.
 */
static struct {
	int calls;              /* Calls seen by the installed fake. */
	int eintr_left;         /* Fail this many calls with EINTR first. */
	int error_next;         /* When != 0, the next forwarded call fails with this errno. */
	int timeouts_ms[4];     /* epoll_wait timeouts seen, in call order. */
	int64_t call_ns[4];     /* CLOCK_MONOTONIC at each of those epoll_wait calls. */
	int events_caps[4];     /* epoll_wait maxevents seen, in call order. */
} fake;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

static bool fake_take_eintr(void)
{
	fake.calls++;
	if (fake.eintr_left == 0)
		return false;
	fake.eintr_left--;
	errno = EINTR;
	return true;
}

static bool fake_take_error(void)
{
	if (fake.error_next == 0)
		return false;
	errno = fake.error_next;
	fake.error_next = 0;
	return true;
}

static ssize_t fake_read(int fd, void *buf, size_t len)
{
	if (fake_take_eintr())
		return -1;
	return read(fd, buf, len);
}

static ssize_t fake_write(int fd, const void *buf, size_t len)
{
	if (fake_take_eintr())
		return -1;
	return write(fd, buf, len);
}

static ssize_t fake_send(int fd, const void *buf, size_t len, int flags)
{
	if (fake_take_eintr() || fake_take_error())
		return -1;
	return send(fd, buf, len, flags);
}

static ssize_t fake_recv(int fd, void *buf, size_t len, int flags)
{
	if (fake_take_eintr() || fake_take_error())
		return -1;
	return recv(fd, buf, len, flags);
}

static int64_t monotonic_ns(void)
{
	struct timespec now;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int fake_epoll_wait(int epoll_fd, struct epoll_event *events, int events_cap,
			   int timeout_ms)
{
	if (fake.calls < 4) {
		fake.timeouts_ms[fake.calls] = timeout_ms;
		fake.events_caps[fake.calls] = events_cap;
		fake.call_ns[fake.calls] = monotonic_ns();
	}
	if (fake_take_eintr())
		return -1;
	return epoll_wait(epoll_fd, events, events_cap, timeout_ms);
}

/* Records the timeout the driver computed, then polls: the test never sleeps. */
static int fake_epoll_wait_poll(int epoll_fd, struct epoll_event *events, int events_cap,
				int timeout_ms)
{
	if (fake.calls < 4) {
		fake.timeouts_ms[fake.calls] = timeout_ms;
		fake.events_caps[fake.calls] = events_cap;
	}
	fake.calls++;
	return epoll_wait(epoll_fd, events, events_cap, 0);
}

/* Linux semantics: the fd is released even when close reports EINTR. */
static int fake_close_eintr(int fd)
{
	fake.calls++;
	close(fd);
	errno = EINTR;
	return -1;
}

/* The first call really starts the connect, then reports EINTR; later calls may fail with
 * fake.error_next or forward. */
static int fake_connect(int fd, const struct sockaddr *addr, socklen_t addr_len)
{
	fake.calls++;
	if (fake.calls == 1) {
		int rc = connect(fd, addr, addr_len);
		assert_true(rc == 0 || errno == EINPROGRESS);
		errno = EINTR;
		return -1;
	}
	if (fake_take_error())
		return -1;
	return connect(fd, addr, addr_len);
}

static int fake_connect_error(int fd, const struct sockaddr *addr, socklen_t addr_len)
{
	fake.calls++;
	if (fake_take_error())
		return -1;
	return connect(fd, addr, addr_len);
}

static void syscall_install(struct fixture *fixture, enum gale_epoll_syscall slot,
			    gale_syscall_ptr fn)
{
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll, slot, fn), 0);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void test_init_fills_ops_and_cloexec_fds(void **state)
{
	struct fixture *fixture = *state;
	assert_string_equal(gale_driver_name(fixture->driver), "epoll");
	assert_int_equal(fixture->epoll.base.ops->abi_version, GALE_DRIVER_ABI_VERSION);
	assert_non_null(fixture->epoll.base.ops->wake);
	assert_non_null(fixture->epoll.base.ops->readv);
	assert_non_null(fixture->epoll.base.ops->writev);
	assert_true((fcntl(fixture->epoll.priv_epoll_fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_nonblocking_cloexec(fixture->epoll.priv_wake_fd);
}

/* A zeroed struct has fds 0; deinit must look at ops, not at the fds. */
static void test_deinit_zeroed_is_noop_and_idempotent(void **state)
{
	(void)state;
	int probe[2];
	assert_int_equal(pipe(probe), 0);
	struct gale_driver_epoll driver;
	memset(&driver, 0, sizeof(driver));
	driver.priv_epoll_fd = probe[0];
	driver.priv_wake_fd = probe[1];
	gale_driver_epoll_deinit(&driver);
	gale_driver_deinit(&driver.base);
	assert_true(fd_is_open(probe[0]));
	assert_true(fd_is_open(probe[1]));
	close(probe[0]);
	close(probe[1]);

	assert_int_equal(gale_driver_epoll_init(&driver), 0);
	int epoll_fd = driver.priv_epoll_fd;
	int wake_fd = driver.priv_wake_fd;
	gale_driver_deinit(&driver.base); /* Through ops->deinit. */
	assert_null(driver.base.ops);
	assert_false(fd_is_open(epoll_fd));
	assert_false(fd_is_open(wake_fd));
	gale_driver_epoll_deinit(&driver); /* Second time: no-op. */
	gale_driver_deinit(&driver.base);
	assert_null(driver.base.ops);
}

static int fd_lowest_free(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* RLIMIT_NOFILE caps fd numbers: lowest fails epoll_create1, lowest + 1 fails eventfd. */
static void test_init_emfile_leaves_ops_null_and_closes(void **state)
{
	(void)state;
	struct rlimit limit_old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &limit_old), 0);
	int lowest = fd_lowest_free();
	struct gale_driver_epoll driver;
	for (int extra = 0; extra <= 1; extra++) {
		struct rlimit tight = {.rlim_cur = (rlim_t)(lowest + extra),
				       .rlim_max = limit_old.rlim_max};
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
		memset(&driver, 0x5A, sizeof(driver)); /* Garbage: init must set ops itself. */
		int rc = gale_driver_epoll_init(&driver);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &limit_old), 0);
		assert_int_equal(rc, -EMFILE);
		assert_null(driver.base.ops);
		assert_int_equal(fd_lowest_free(), lowest); /* The epoll fd was closed. */
		gale_driver_epoll_deinit(&driver);           /* No-op after a failed init. */
	}
}

/*
 * On Linux the native driver is this one (driver_native.h): it starts epoll, deinits
 * through gale_driver_deinit, and a failed init leaves ops NULL so that deinit is a no-op.
 */
static void test_native_driver_is_epoll(void **state)
{
	(void)state;
	int lowest = fd_lowest_free();
	struct gale_driver_native native;
	assert_int_equal(gale_driver_native_init(&native), 0);
	assert_string_equal(gale_driver_name(&native.base), "epoll");
	assert_ptr_equal(&native.base, &native.priv_epoll.base);
	assert_true(fd_is_open(native.priv_epoll.priv_epoll_fd));
	gale_driver_deinit(&native.base);
	assert_null(native.base.ops);
	assert_int_equal(fd_lowest_free(), lowest); /* Both of its fds were closed. */
	gale_driver_deinit(&native.base);          /* Second time: no-op. */

	struct rlimit limit_old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &limit_old), 0);
	struct rlimit tight = {.rlim_cur = (rlim_t)lowest, .rlim_max = limit_old.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	memset(&native, 0x5A, sizeof(native));
	int rc = gale_driver_native_init(&native);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &limit_old), 0);
	assert_int_equal(rc, -EMFILE);
	assert_null(native.base.ops);
	gale_driver_deinit(&native.base);
}

/* ---- readiness: edge-triggered -------------------------------------------------------- */

static void test_pipe_read_is_edge_triggered(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[8];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 41, GALE_READY_READ), 0);
	assert_no_event(fixture); /* Empty pipe: nothing to report. */

	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "a", 1), 1);
	assert_one_event(fixture, 41, GALE_READY_READ);
	assert_no_event(fixture); /* No new data, no second event. */

	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "bc", 2), 2);
	assert_one_event(fixture, 41, GALE_READY_READ);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, 1), 1);
	assert_int_equal(buf[0], 'a');
	assert_no_event(fixture); /* A partial read does not re-arm. */

	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "d", 1), 1);
	assert_one_event(fixture, 41, GALE_READY_READ); /* New data: a new edge. */
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "bcd", 3);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), -EAGAIN);
	assert_no_event(fixture);

	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "e", 1), 1);
	assert_one_event(fixture, 41, GALE_READY_READ);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "f", 1), 1);
	assert_no_event(fixture); /* Deregistered: silent. */
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

static void test_socketpair_write_edge_after_peer_drains(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 7, GALE_READY_WRITE), 0);
	assert_one_event(fixture, 7, GALE_READY_WRITE); /* Registration reports the state once. */

	size_t filled = fd_fill(fixture, fds[0]);
	assert_true(filled > 0);
	assert_no_event(fixture); /* Full: no writability edge. */
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "x", 1), -EAGAIN);
	assert_no_event(fixture);

	assert_int_equal(fd_drain(fixture, fds[1]), filled); /* Every byte arrived. */
	assert_one_event(fixture, 7, GALE_READY_WRITE);
	assert_no_event(fixture);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* reregister changes the token and re-arms: current readiness is reported once more. */
static void test_reregister_changes_token_and_rearms(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 1, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "z", 1), 1);
	assert_one_event(fixture, 1, GALE_READY_READ);
	assert_no_event(fixture);
	assert_int_equal(gale_driver_fd_reregister(fixture->driver, fds[0], 2,
						   GALE_READY_INTEREST_ALL),
			 0);
	assert_one_event(fixture, 2, GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(gale_driver_fd_reregister(fixture->driver, fds[0], 3, GALE_READY_WRITE),
			 0);
	assert_one_event(fixture, 3, GALE_READY_WRITE); /* Readable, but not asked for. */
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* Linux: closing a unix stream peer shuts down both directions: IN | RDHUP | HUP. */
static void test_socketpair_peer_close_reports_rdhup_hup(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[4];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 9, GALE_READY_READ), 0);
	assert_no_event(fixture);
	fd_close_checked(fixture, fds[1]);
	assert_one_event(fixture, 9, GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
}

/* A half-close is RDHUP without HUP: the other direction still works. */
static void test_socketpair_shutdown_write_reports_rdhup_only(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[4];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 5, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_shutdown(fixture->driver, fds[1], GALE_SHUTDOWN_WRITE), 0);
	assert_one_event(fixture, 5, GALE_READY_READ | GALE_READY_RDHUP);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "ok", 2), 2);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* Pipes do not report RDHUP: the writer closing is HUP (plus READ while data remains). */
static void test_pipe_writer_close_reports_hup(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[4];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 11, GALE_READY_READ), 0);
	fd_close_checked(fixture, fds[1]);
	assert_one_event(fixture, 11, GALE_READY_HUP);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);

	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 12, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "q", 1), 1);
	assert_one_event(fixture, 12, GALE_READY_READ);
	fd_close_checked(fixture, fds[1]);
	assert_one_event(fixture, 12, GALE_READY_READ | GALE_READY_HUP);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 1);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
}

/* The write end of a pipe whose reader closed: WRITE | ERROR (pipe_poll sets EPOLLERR). */
static void test_pipe_reader_close_reports_error(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], 13, GALE_READY_WRITE),
			 0);
	assert_one_event(fixture, 13, GALE_READY_WRITE);
	fd_close_checked(fixture, fds[0]);
	assert_one_event(fixture, 13, GALE_READY_WRITE | GALE_READY_ERROR);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	fd_close_checked(fixture, fds[1]);
}

/* ---- SIGPIPE ---------------------------------------------------------------------------- */

static void test_socket_write_to_closed_peer_is_epipe_without_sigpipe(void **state)
{
	struct fixture *fixture = *state;
	struct sigpipe_state saved;
	sigpipe_default_install(&saved);
	int fds[2];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	fd_close_checked(fixture, fds[1]);
	struct iovec iov[2] = {{.iov_base = "ab", .iov_len = 2}, {.iov_base = "c", .iov_len = 1}};
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "x", 1), -EPIPE);
	assert_int_equal(gale_driver_send(fixture->driver, fds[0], "x", 1, 0), -EPIPE);
	assert_int_equal(gale_driver_writev(fixture->driver, fds[0], iov, 2), -EPIPE);
	/* Still alive, and nothing left pending or blocked. */
	assert_false(sigpipe_is_pending());
	assert_false(sigpipe_is_blocked());
	fd_close_checked(fixture, fds[0]);
	sigpipe_restore(&saved);
}

static void test_pipe_write_to_closed_reader_is_epipe_without_sigpipe(void **state)
{
	struct fixture *fixture = *state;
	struct sigpipe_state saved;
	sigpipe_default_install(&saved);
	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	fd_close_checked(fixture, fds[0]);
	struct iovec iov[2] = {{.iov_base = "ab", .iov_len = 2}, {.iov_base = "c", .iov_len = 1}};
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "x", 1), -EPIPE);
	assert_int_equal(gale_driver_writev(fixture->driver, fds[1], iov, 2), -EPIPE);
	/* The guard consumed the SIGPIPE it caused and restored the mask. */
	assert_false(sigpipe_is_pending());
	assert_false(sigpipe_is_blocked());
	fd_close_checked(fixture, fds[1]);
	sigpipe_restore(&saved);
}

/* A SIGPIPE pending before the call is someone else's: the guard must leave it pending. */
static void test_pipe_write_keeps_foreign_pending_sigpipe(void **state)
{
	struct fixture *fixture = *state;
	struct sigpipe_state saved;
	sigpipe_default_install(&saved);
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe_set, NULL), 0);
	assert_int_equal(raise(SIGPIPE), 0);
	assert_true(sigpipe_is_pending());

	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	fd_close_checked(fixture, fds[0]);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "x", 1), -EPIPE);
	assert_true(sigpipe_is_blocked()); /* The caller's mask is back as it was. */
	assert_true(sigpipe_is_pending());
	const struct timespec zero = {0, 0};
	assert_int_equal(sigtimedwait(&pipe_set, NULL, &zero), SIGPIPE);
	assert_false(sigpipe_is_pending());
	fd_close_checked(fixture, fds[1]);
	sigpipe_restore(&saved);
}

/* ---- bad input -------------------------------------------------------------------------- */

static void test_register_errors_come_from_epoll_ctl(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = fixture->driver;
	int fds[2];
	assert_int_equal(gale_driver_fd_register(driver, -1, 1, GALE_READY_READ), -EBADF);
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	int closed_fd = fds[1];
	fd_close_checked(fixture, closed_fd);
	assert_int_equal(gale_driver_fd_register(driver, closed_fd, 1, GALE_READY_READ), -EBADF);

	assert_int_equal(gale_driver_fd_deregister(driver, fds[0]), -ENOENT);
	assert_int_equal(gale_driver_fd_reregister(driver, fds[0], 1, GALE_READY_READ), -ENOENT);
	assert_int_equal(gale_driver_fd_register(driver, fds[0], 1, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_fd_register(driver, fds[0], 2, GALE_READY_READ), -EEXIST);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[0]), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, fds[0]), -ENOENT);
	fd_close_checked(fixture, fds[0]);

	char path[] = "/tmp/gale-epoll-test-XXXXXX";
	int file_fd = mkstemp(path);
	assert_true(file_fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(gale_driver_fd_register(driver, file_fd, 1, GALE_READY_READ), -EPERM);
	assert_int_equal(close(file_fd), 0);
}

static void test_io_errors_are_negative_errno(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = fixture->driver;
	char buf[4];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	assert_int_equal(gale_driver_read(driver, -1, buf, sizeof(buf)), -EBADF);
	assert_int_equal(gale_driver_write(driver, -1, "x", 1), -EBADF);
	assert_int_equal(gale_driver_readv(driver, -1, &iov, 1), -EBADF);
	assert_int_equal(gale_driver_writev(driver, -1, &iov, 1), -EBADF);
	assert_int_equal(gale_driver_recv(driver, -1, buf, sizeof(buf), 0), -EBADF);
	assert_int_equal(gale_driver_send(driver, -1, "x", 1, 0), -EBADF);
	assert_int_equal(gale_driver_close(driver, -1), -EBADF);
	assert_int_equal(gale_driver_socket_error_take(driver, -1), -EBADF);

	int fds[2];
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	assert_int_equal(gale_driver_read(driver, fds[0], buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(gale_driver_recv(driver, fds[0], buf, sizeof(buf), 0), -ENOTSOCK);
	assert_int_equal(gale_driver_send(driver, fds[1], "x", 1, 0), -ENOTSOCK);
	assert_int_equal(gale_driver_socket_error_take(driver, fds[0]), -ENOTSOCK);
	assert_int_equal(gale_driver_shutdown(driver, fds[0], GALE_SHUTDOWN_BOTH), -ENOTSOCK);
	assert_int_equal(gale_driver_accept(driver, fds[0], NULL, NULL), -ENOTSOCK);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

static void test_sockopt_unknown_or_out_of_range_is_einval(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = fixture->driver;
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int value = 12345;
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_COUNT_, 1), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, (enum gale_sockopt)99, 1), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, (enum gale_sockopt)-1, 1), -EINVAL);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, (enum gale_sockopt)99, &value),
			 -EINVAL);
	assert_int_equal(value, 12345); /* Untouched on error. */
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_NODELAY, 2), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_TTL, 0), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_TTL, 256), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_LINGER, -2), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_SNDBUF, -1), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, -1, GALE_SOCKOPT_NODELAY, 1), -EBADF);
	assert_int_equal(gale_driver_sockopt_set(driver, -1, GALE_SOCKOPT_TTL, 9), -EBADF);
	/* IPv6 options on an IPv4 socket do not exist. */
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_V6ONLY, 1),
			 -ENOPROTOOPT);
	fd_close_checked(fixture, fd);
}

/* ---- the syscall table: EINTR and errno folding ---------------------------------------- */

static void test_syscall_set_unknown_slot_is_einval(void **state)
{
	struct fixture *fixture = *state;
	gale_syscall_ptr fn = (gale_syscall_ptr)fake_read;
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll, GALE_EPOLL_SYSCALL_COUNT_,
						       fn),
			 -EINVAL);
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       (enum gale_epoll_syscall)-1, fn),
			 -EINVAL);
	for (int slot = 0; slot < GALE_EPOLL_SYSCALL_COUNT_; slot++)
		syscall_install(fixture, (enum gale_epoll_syscall)slot, NULL); /* Restore all. */
}

static void test_read_retries_eintr(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[4];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "hey", 3), 3);
	fake_reset();
	fake.eintr_left = 2;
	syscall_install(fixture, GALE_EPOLL_SYSCALL_READ, (gale_syscall_ptr)fake_read);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hey", 3);
	assert_int_equal(fake.calls, 3);

	syscall_install(fixture, GALE_EPOLL_SYSCALL_READ, NULL); /* The real read again. */
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(fake.calls, 3);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

static void test_wait_retries_eintr_with_time_left(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], 77, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "w", 1), 1);
	fake_reset();
	fake.eintr_left = 2;
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT,
			(gale_syscall_ptr)fake_epoll_wait);
	struct gale_event events[EVENTS_CAP];
	int64_t timeout_ns = INT64_C(10000000000); /* 10 s; data is ready, so no wait. */
	int64_t start_ns = monotonic_ns();
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, timeout_ns), 1);
	assert_int_equal(events[0].token, 77);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	assert_int_equal(fake.calls, 3);
	/* Each retry waits for what is left of the 10 s, never more. How much is left depends
	 * on how long the retries took (a loaded machine may preempt between them), so the
	 * floor is computed from when each call happened: the deadline is at least start + 10 s
	 * and each retry read the clock before its call, rounding up to whole ms. */
	assert_int_equal(fake.timeouts_ms[0], 10000);
	for (int i = 1; i < 3; i++) {
		int64_t elapsed_ms = (fake.call_ns[i] - start_ns) / NS_PER_MS;
		assert_true(fake.timeouts_ms[i] <= fake.timeouts_ms[i - 1]);
		assert_true(fake.timeouts_ms[i] >= 10000 - elapsed_ms);
	}

	/* A poll (timeout 0) that is interrupted polls again, still with timeout 0. */
	fake_reset();
	fake.eintr_left = 1;
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(fake.timeouts_ms[0], 0);
	assert_int_equal(fake.timeouts_ms[1], 0);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT, NULL);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

static void test_write_and_send_retry_eintr(void **state)
{
	struct fixture *fixture = *state;
	int pipe_fds[2];
	int pair_fds[2];
	char buf[4];
	assert_int_equal(gale_driver_pipe(fixture->driver, pipe_fds), 0);
	assert_int_equal(gale_driver_socketpair(fixture->driver, pair_fds), 0);
	fake_reset();
	fake.eintr_left = 2;
	syscall_install(fixture, GALE_EPOLL_SYSCALL_WRITE, (gale_syscall_ptr)fake_write);
	assert_int_equal(gale_driver_write(fixture->driver, pipe_fds[1], "p", 1), 1);
	assert_int_equal(fake.calls, 3);
	assert_int_equal(gale_driver_read(fixture->driver, pipe_fds[0], buf, sizeof(buf)), 1);

	fake_reset();
	fake.eintr_left = 2;
	syscall_install(fixture, GALE_EPOLL_SYSCALL_SEND, (gale_syscall_ptr)fake_send);
	assert_int_equal(gale_driver_write(fixture->driver, pair_fds[0], "s", 1), 1);
	assert_int_equal(fake.calls, 3); /* Sockets go through send, not write. */
	assert_int_equal(gale_driver_read(fixture->driver, pair_fds[1], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 's');
	syscall_install(fixture, GALE_EPOLL_SYSCALL_WRITE, NULL);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_SEND, NULL);
	fd_close_checked(fixture, pipe_fds[0]);
	fd_close_checked(fixture, pipe_fds[1]);
	fd_close_checked(fixture, pair_fds[0]);
	fd_close_checked(fixture, pair_fds[1]);
}

/* ENOBUFS folds into -EAGAIN on send paths only; EWOULDBLOCK is always -EAGAIN. */
static void test_enobufs_folds_on_send_only(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[4];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_SEND, (gale_syscall_ptr)fake_send);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_RECV, (gale_syscall_ptr)fake_recv);
	fake_reset();
	fake.error_next = ENOBUFS;
	assert_int_equal(gale_driver_send(fixture->driver, fds[0], "x", 1, 0), -EAGAIN);
	fake.error_next = ENOBUFS;
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "x", 1), -EAGAIN);
	fake.error_next = ENOBUFS;
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf), 0),
			 -ENOBUFS);
	fake.error_next = EWOULDBLOCK;
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf), 0),
			 -EAGAIN);
	assert_int_equal(fake.calls, 4);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_SEND, NULL);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_RECV, NULL);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* EINTR from close means "closed" on Linux: 0, and never a second close. */
static void test_close_eintr_is_success_and_not_retried(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	fake_reset();
	syscall_install(fixture, GALE_EPOLL_SYSCALL_CLOSE, (gale_syscall_ptr)fake_close_eintr);
	assert_int_equal(gale_driver_close(fixture->driver, fds[0]), 0);
	assert_int_equal(fake.calls, 1);
	assert_false(fd_is_open(fds[0]));
	syscall_install(fixture, GALE_EPOLL_SYSCALL_CLOSE, NULL);
	fd_close_checked(fixture, fds[1]);
}

/* After an interrupted connect, the retry sees the attempt already under way. */
static void test_connect_eintr_reports_the_attempt_under_way(void **state)
{
	struct fixture *fixture = *state;
	struct sockaddr_in addr;
	int listen_fd = tcp_listener_open(fixture, &addr);
	/* The second call's errno, and what connect must report for it after an EINTR. */
	const int retry_errors[] = {EALREADY, EISCONN, ECONNREFUSED};
	const int expected[] = {-EINPROGRESS, 0, -ECONNREFUSED};
	syscall_install(fixture, GALE_EPOLL_SYSCALL_CONNECT, (gale_syscall_ptr)fake_connect);
	for (int i = 0; i < 3; i++) {
		int fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		fake_reset();
		fake.error_next = retry_errors[i];
		assert_int_equal(gale_driver_connect(fixture->driver, fd,
						     (struct sockaddr *)&addr, sizeof(addr)),
				 expected[i]);
		assert_int_equal(fake.calls, 2);
		fd_close_checked(fixture, fd);
	}
	/* The real kernel on the retry: EALREADY or EISCONN, both mapped. */
	int fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	fake_reset();
	int rc = gale_driver_connect(fixture->driver, fd, (struct sockaddr *)&addr, sizeof(addr));
	assert_true(rc == 0 || rc == -EINPROGRESS);
	assert_int_equal(fake.calls, 2);
	fd_close_checked(fixture, fd);

	/* Without an EINTR first, EALREADY is the caller's own second connect: unchanged. */
	syscall_install(fixture, GALE_EPOLL_SYSCALL_CONNECT,
			(gale_syscall_ptr)fake_connect_error);
	fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	fake_reset();
	fake.error_next = EALREADY;
	assert_int_equal(gale_driver_connect(fixture->driver, fd, (struct sockaddr *)&addr,
					     sizeof(addr)),
			 -EALREADY);
	assert_int_equal(fake.calls, 1);
	fake_reset();
	fake.error_next = EISCONN;
	assert_int_equal(gale_driver_connect(fixture->driver, fd, (struct sockaddr *)&addr,
					     sizeof(addr)),
			 -EISCONN);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_CONNECT, NULL);
	fd_close_checked(fixture, fd);
	fd_close_checked(fixture, listen_fd);
}

/* ---- wait: timeout conversion and capacity --------------------------------------------- */

static void test_wait_timeout_rounds_up_to_ms(void **state)
{
	struct fixture *fixture = *state;
	const int64_t timeouts_ns[] = {-1, 0, 1, 999999, 1000000, 1000001, 2500000,
				       INT64_C(3000000000000000), INT64_MAX};
	const int timeouts_ms[] = {-1, 0, 1, 1, 1, 2, 3, INT_MAX, INT_MAX};
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT,
			(gale_syscall_ptr)fake_epoll_wait_poll);
	for (size_t i = 0; i < sizeof(timeouts_ns) / sizeof(timeouts_ns[0]); i++) {
		struct gale_event events[EVENTS_CAP];
		fake_reset();
		assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP,
						  timeouts_ns[i]),
				 0);
		assert_int_equal(fake.calls, 1);
		assert_int_equal(fake.timeouts_ms[0], timeouts_ms[i]);
	}
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT, NULL);
}

static void test_wait_clamps_events_cap(void **state)
{
	struct fixture *fixture = *state;
	struct gale_event events[1000];
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT,
			(gale_syscall_ptr)fake_epoll_wait_poll);
	fake_reset();
	assert_int_equal(gale_driver_wait(fixture->driver, events, 1000, 0), 0);
	assert_int_equal(gale_driver_wait(fixture->driver, events, 1, 0), 0);
	assert_int_equal(gale_driver_wait(fixture->driver, events,
					  GALE_DRIVER_EPOLL_EVENTS_MAX, 0),
			 0);
	assert_int_equal(fake.events_caps[0], GALE_DRIVER_EPOLL_EVENTS_MAX);
	assert_int_equal(fake.events_caps[1], 1);
	assert_int_equal(fake.events_caps[2], GALE_DRIVER_EPOLL_EVENTS_MAX);
	syscall_install(fixture, GALE_EPOLL_SYSCALL_EPOLL_WAIT, NULL);
}

/* ---- wake ------------------------------------------------------------------------------- */

static void test_wake_same_thread_ends_wait_and_is_drained(void **state)
{
	struct fixture *fixture = *state;
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wake(fixture->driver), 0);
	assert_int_equal(gale_driver_wake(fixture->driver), 0);
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, -1), 0);
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	uint64_t counter;
	assert_int_equal(read(fixture->epoll.priv_wake_fd, &counter, sizeof(counter)), -1);
	assert_int_equal(errno, EAGAIN); /* The eventfd counter was drained to zero. */

	assert_int_equal(gale_driver_wake(fixture->driver), 0); /* A fresh edge again. */
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, -1), 0);
}

/* An eventfd counter at its maximum makes write(2) say EAGAIN: a wake is pending anyway. */
static void test_wake_with_saturated_counter_succeeds(void **state)
{
	struct fixture *fixture = *state;
	const uint64_t counter_max = UINT64_C(0xfffffffffffffffe);
	assert_int_equal(write(fixture->epoll.priv_wake_fd, &counter_max, sizeof(counter_max)),
			 sizeof(counter_max));
	assert_int_equal(gale_driver_wake(fixture->driver), 0);
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, -1), 0);
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	assert_int_equal(gale_driver_wake(fixture->driver), 0); /* Drained: room again. */
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, -1), 0);
}

static void *wake_thread_main(void *data)
{
	struct gale_driver *driver = data;
	intptr_t rc = gale_driver_wake(driver);
	return (void *)rc;
}

static void test_wake_from_another_thread(void **state)
{
	struct fixture *fixture = *state;
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, wake_thread_main, fixture->driver), 0);
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, -1), 0);
	void *result;
	assert_int_equal(pthread_join(thread, &result), 0);
	assert_int_equal((intptr_t)result, 0);
}

/* ---- sockets ---------------------------------------------------------------------------- */

static void sockopt_roundtrip(struct fixture *fixture, int fd, enum gale_sockopt opt, int value)
{
	int got = -12345;
	assert_int_equal(gale_driver_sockopt_set(fixture->driver, fd, opt, value), 0);
	assert_int_equal(gale_driver_sockopt_get(fixture->driver, fd, opt, &got), 0);
	assert_int_equal(got, value);
}

static void test_sockopts_roundtrip_tcp_ipv4(void **state)
{
	struct fixture *fixture = *state;
	int fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(gale_driver_bind(fixture->driver, fd, (struct sockaddr *)&addr,
					  sizeof(addr)),
			 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_NODELAY, 1);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_NODELAY, 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_LINGER, 5);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_LINGER, -1);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_LINGER, 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_TTL, 17);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_TTL, 64);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_KEEPALIVE, 1);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_KEEPALIVE, 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_REUSEADDR, 1);
	int got = 0;
	/* Linux doubles SO_SNDBUF / SO_RCVBUF to account for its bookkeeping overhead. */
	assert_int_equal(gale_driver_sockopt_set(fixture->driver, fd, GALE_SOCKOPT_SNDBUF, 16384),
			 0);
	assert_int_equal(gale_driver_sockopt_get(fixture->driver, fd, GALE_SOCKOPT_SNDBUF, &got),
			 0);
	assert_int_equal(got, 32768);
	assert_int_equal(gale_driver_sockopt_set(fixture->driver, fd, GALE_SOCKOPT_RCVBUF, 16384),
			 0);
	assert_int_equal(gale_driver_sockopt_get(fixture->driver, fd, GALE_SOCKOPT_RCVBUF, &got),
			 0);
	assert_int_equal(got, 32768);
	fd_close_checked(fixture, fd);
}

/* TTL on IPv6 is IPV6_UNICAST_HOPS; skipped where the kernel has no IPv6. */
static void test_sockopts_roundtrip_tcp_ipv6(void **state)
{
	struct fixture *fixture = *state;
	int fd = gale_driver_socket(fixture->driver, AF_INET6, SOCK_STREAM, 0);
	if (fd == -EAFNOSUPPORT)
		skip();
	assert_true(fd >= 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_V6ONLY, 1);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_V6ONLY, 0);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_TTL, 33);
	sockopt_roundtrip(fixture, fd, GALE_SOCKOPT_NODELAY, 1);
	fd_close_checked(fixture, fd);
}

/* AF_UNIX has no TCP or IP options: one spelling, -ENOPROTOOPT. */
static void test_sockopts_on_unix_socket(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	int got = 0;
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_set(fixture->driver, fds[0], GALE_SOCKOPT_NODELAY, 1),
			 -ENOPROTOOPT);
	assert_int_equal(gale_driver_sockopt_get(fixture->driver, fds[0], GALE_SOCKOPT_TTL, &got),
			 -ENOPROTOOPT);
	sockopt_roundtrip(fixture, fds[0], GALE_SOCKOPT_KEEPALIVE, 1);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* Connects to addr and waits for the outcome: writability with SO_ERROR 0. */
static int tcp_connect_checked(struct fixture *fixture, const struct sockaddr_in *addr,
			       uint64_t token)
{
	struct gale_driver *driver = fixture->driver;
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int rc = gale_driver_connect(driver, fd, (const struct sockaddr *)addr, sizeof(*addr));
	assert_true(rc == 0 || rc == -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, fd, token, GALE_READY_WRITE), 0);
	assert_true((wait_for_token(fixture, token) & GALE_READY_WRITE) != 0);
	assert_int_equal(gale_driver_socket_error_take(driver, fd), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, fd), 0);
	return fd;
}

static void test_connect_accept_loopback(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = fixture->driver;
	struct sockaddr_in addr;
	int listen_fd = tcp_listener_open(fixture, &addr);
	assert_int_equal(gale_driver_accept(driver, listen_fd, NULL, NULL), -EAGAIN);
	int fd = tcp_connect_checked(fixture, &addr, 21);
	/* The client's side completed; the listener's may lag (softirq work, delayed under
	 * load): wait for the connection to be queued. Registering reports the current
	 * readiness once, so a connection queued already is not missed. */
	assert_int_equal(gale_driver_fd_register(driver, listen_fd, 20, GALE_READY_READ), 0);
	assert_true((wait_for_token(fixture, 20) & GALE_READY_READ) != 0);
	assert_int_equal(gale_driver_fd_deregister(driver, listen_fd), 0);

	struct sockaddr_storage peer;
	socklen_t peer_len = 0;
	int accepted = gale_driver_accept(driver, listen_fd, &peer, &peer_len);
	assert_true(accepted >= 0);
	assert_nonblocking_cloexec(accepted);
	assert_int_equal(gale_driver_accept(driver, listen_fd, NULL, NULL), -EAGAIN);
	struct sockaddr_storage local;
	socklen_t local_len;
	assert_int_equal(gale_driver_addr_local(driver, fd, &local, &local_len), 0);
	assert_int_equal(peer_len, local_len);
	assert_memory_equal(&peer, &local, peer_len); /* accept saw our local address. */
	assert_int_equal(gale_driver_addr_peer(driver, fd, &peer, &peer_len), 0);
	assert_int_equal(peer_len, sizeof(addr));
	assert_memory_equal(&peer, &addr, sizeof(addr));

	assert_int_equal(gale_driver_send(driver, fd, "ping", 4, 0), 4);
	assert_int_equal(gale_driver_fd_register(driver, accepted, 22, GALE_READY_READ), 0);
	assert_true((wait_for_token(fixture, 22) & GALE_READY_READ) != 0);
	char buf[8];
	assert_int_equal(gale_driver_recv(driver, accepted, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(gale_driver_fd_deregister(driver, accepted), 0);
	fd_close_checked(fixture, accepted);
	fd_close_checked(fixture, fd);
	fd_close_checked(fixture, listen_fd);
}

static void test_connect_to_closed_port_is_refused(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = fixture->driver;
	struct sockaddr_in addr;
	int probe = tcp_listener_open(fixture, &addr);
	fd_close_checked(fixture, probe); /* Nobody listens on addr now. */

	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int rc = gale_driver_connect(driver, fd, (struct sockaddr *)&addr, sizeof(addr));
	if (rc == -EINPROGRESS) {
		assert_int_equal(gale_driver_fd_register(driver, fd, 31, GALE_READY_INTEREST_ALL),
				 0);
		uint32_t ready = wait_for_token(fixture, 31);
		assert_true((ready & (GALE_READY_WRITE | GALE_READY_ERROR)) != 0);
		rc = gale_driver_socket_error_take(driver, fd);
		assert_int_equal(gale_driver_fd_deregister(driver, fd), 0);
	}
	assert_int_equal(rc, -ECONNREFUSED);
	assert_int_equal(gale_driver_socket_error_take(driver, fd), 0); /* Taken: cleared. */
	fd_close_checked(fixture, fd);
}

static void test_created_fds_are_nonblocking_cloexec(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	int fd = gale_driver_socket(fixture->driver, AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_nonblocking_cloexec(fd);
	fd_close_checked(fixture, fd);
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_nonblocking_cloexec(fds[0]);
	assert_nonblocking_cloexec(fds[1]);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_nonblocking_cloexec(fds[0]);
	assert_nonblocking_cloexec(fds[1]);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
	assert_int_equal(gale_driver_socket(fixture->driver, 12345, SOCK_STREAM, 0),
			 -EAFNOSUPPORT);
}

/* An fd made elsewhere (blocking) becomes non-blocking; its other flags stay. */
static void test_fd_nonblocking_set_on_foreign_fd(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(pipe(fds), 0); /* Blocking, not close-on-exec: a foreign fd. */
	assert_int_equal(fcntl(fds[1], F_SETFL, O_APPEND), 0);
	assert_int_equal(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(gale_driver_fd_nonblocking_set(fixture->driver, fds[0]), 0);
	assert_int_equal(gale_driver_fd_nonblocking_set(fixture->driver, fds[1]), 0);
	assert_int_equal(gale_driver_fd_nonblocking_set(fixture->driver, fds[1]), 0);
	assert_true((fcntl(fds[0], F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(fds[1], F_GETFL) & O_APPEND) != 0);
	char buf[1];
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, 1), -EAGAIN);
	assert_int_equal(gale_driver_fd_nonblocking_set(fixture->driver, -1), -EBADF);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

/* ---- byte I/O ---------------------------------------------------------------------------- */

static void test_readv_writev_cross_iovecs(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	struct iovec out[3] = {{.iov_base = "ab", .iov_len = 2},
			       {.iov_base = "", .iov_len = 0},
			       {.iov_base = "cde", .iov_len = 3}};
	assert_int_equal(gale_driver_writev(fixture->driver, fds[0], out, 3), 5);
	char first[3] = {0};
	char second[2] = {0};
	struct iovec in[2] = {{.iov_base = first, .iov_len = 3},
			      {.iov_base = second, .iov_len = 2}};
	assert_int_equal(gale_driver_readv(fixture->driver, fds[1], in, 2), 5);
	assert_memory_equal(first, "abc", 3);
	assert_memory_equal(second, "de", 2);
	assert_int_equal(gale_driver_readv(fixture->driver, fds[1], in, 2), -EAGAIN);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);

	/* The pipe path (writev(2) under the SIGPIPE guard) moves the same bytes. */
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_writev(fixture->driver, fds[1], out, 3), 5);
	assert_int_equal(gale_driver_readv(fixture->driver, fds[0], in, 2), 5);
	assert_memory_equal(first, "abc", 3);
	assert_memory_equal(second, "de", 2);
	fd_close_checked(fixture, fds[0]);
	fd_close_checked(fixture, fds[1]);
}

static void test_recv_peek_keeps_data(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	char buf[8] = {0};
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_send(fixture->driver, fds[0], "ab", 2, 0), 2);
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf),
					  GALE_RECV_PEEK),
			 2);
	assert_memory_equal(buf, "ab", 2);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf), 0), -EAGAIN);
	fd_close_checked(fixture, fds[0]);
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, sizeof(buf), 0), 0);
	fd_close_checked(fixture, fds[1]);
}

static void test_now_ns_is_monotonic(void **state)
{
	struct fixture *fixture = *state;
	int64_t before_ns = monotonic_ns();
	int64_t first_ns = gale_driver_now_ns(fixture->driver);
	int64_t previous_ns = first_ns;
	for (int i = 0; i < 1000; i++) {
		int64_t now_ns = gale_driver_now_ns(fixture->driver);
		assert_true(now_ns >= previous_ns);
		previous_ns = now_ns;
	}
	int64_t after_ns = monotonic_ns();
	/* Same clock, CLOCK_MONOTONIC: every reading falls between two reference readings
	 * taken around them (an ordering, so it holds however long the scheduler stalls). */
	assert_true(before_ns <= first_ns && previous_ns <= after_ns);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_init_fills_ops_and_cloexec_fds),
		cmocka_unit_test(test_deinit_zeroed_is_noop_and_idempotent),
		cmocka_unit_test(test_init_emfile_leaves_ops_null_and_closes),
		cmocka_unit_test(test_native_driver_is_epoll),
		TEST(test_pipe_read_is_edge_triggered),
		TEST(test_socketpair_write_edge_after_peer_drains),
		TEST(test_reregister_changes_token_and_rearms),
		TEST(test_socketpair_peer_close_reports_rdhup_hup),
		TEST(test_socketpair_shutdown_write_reports_rdhup_only),
		TEST(test_pipe_writer_close_reports_hup),
		TEST(test_pipe_reader_close_reports_error),
		TEST(test_socket_write_to_closed_peer_is_epipe_without_sigpipe),
		TEST(test_pipe_write_to_closed_reader_is_epipe_without_sigpipe),
		TEST(test_pipe_write_keeps_foreign_pending_sigpipe),
		TEST(test_register_errors_come_from_epoll_ctl),
		TEST(test_io_errors_are_negative_errno),
		TEST(test_sockopt_unknown_or_out_of_range_is_einval),
		TEST(test_syscall_set_unknown_slot_is_einval),
		TEST(test_read_retries_eintr),
		TEST(test_wait_retries_eintr_with_time_left),
		TEST(test_write_and_send_retry_eintr),
		TEST(test_enobufs_folds_on_send_only),
		TEST(test_close_eintr_is_success_and_not_retried),
		TEST(test_connect_eintr_reports_the_attempt_under_way),
		TEST(test_wait_timeout_rounds_up_to_ms),
		TEST(test_wait_clamps_events_cap),
		TEST(test_wake_same_thread_ends_wait_and_is_drained),
		TEST(test_wake_with_saturated_counter_succeeds),
		TEST(test_wake_from_another_thread),
		TEST(test_sockopts_roundtrip_tcp_ipv4),
		TEST(test_sockopts_roundtrip_tcp_ipv6),
		TEST(test_sockopts_on_unix_socket),
		TEST(test_connect_accept_loopback),
		TEST(test_connect_to_closed_port_is_refused),
		TEST(test_created_fds_are_nonblocking_cloexec),
		TEST(test_fd_nonblocking_set_on_foreign_fd),
		TEST(test_readv_writev_cross_iovecs),
		TEST(test_recv_peek_keeps_data),
		TEST(test_now_ns_is_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
