/* SPDX-License-Identifier: MIT */
/*
 * Fidelity on the real kernel: the cases of tests/sim/fidelity_cases.c on the epoll
 * driver, loopback only (127.0.0.1, port 0), plus what only the kernel can show.
 *
 * Methodology: the shared cases (shutdown of a connection already gone, guards after
 * clear_ready, woken readiness futures reporting only what is ready, listener_from_fd,
 * buffer-size read-back, SO_ACCEPTCONN) run here exactly as tests/sim/test_sim_fidelity.c
 * runs them on the simulator, with the same expected answers. The kernel-only cases make
 * sockets with plain syscalls, as another process or a service manager would hand them
 * over: a blocking listening socket made with socket/bind/listen (which from_fd must make
 * non-blocking and own), a UDP socket, an AF_UNIX listener. Every wait is for the event
 * itself, bounded by GALE_TEST_EVENT_WAIT_NS; no sleeps.
 * Reproduce one case: ./test_os_fidelity -t <name>.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/tcp.h>

#include "fidelity_cases.h"
#include "test_support.h"

struct os_fixture {
	struct gale_driver_epoll epoll; /* The real driver. */
	struct fidelity fidelity;       /* The shared cases' world over it. */
};

static int setup(void **state)
{
	struct os_fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	/* Writes to a reset peer must fail with -EPIPE, not kill us: SIGPIPE stays default. */
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(gale_driver_epoll_init(&fixture->epoll), 0);
	fidelity_open(&fixture->fidelity, &fixture->epoll.base);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct os_fixture *fixture = *state;
	fidelity_close(&fixture->fidelity);
	gale_driver_epoll_deinit(&fixture->epoll);
	free(fixture);
	return 0;
}

static struct fidelity *fidelity_of(void **state)
{
	return &((struct os_fixture *)*state)->fidelity;
}

#define SHARED_CASE(name)                                                                  \
	static void name(void **state)                                                     \
	{                                                                                  \
		fidelity_##name(fidelity_of(state));                                       \
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

/* ---- Kernel-only cases ------------------------------------------------------------------ */

/* A blocking IPv4 TCP socket bound to 127.0.0.1:0, made as another program would. */
static int plain_tcp_socket_bound(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	assert_int_equal(bind(fd, (const struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void listener_from_fd_takes_a_blocking_listener_made_elsewhere(void **state)
{
	struct fidelity *f = fidelity_of(state);
	int fd = plain_tcp_socket_bound();
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	/* The listener must make it non-blocking itself: an accept with nothing pending
	 * would block the whole runtime otherwise. */
	struct gale_tcp_listener listener;
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(gale_tcp_listener_close(&listener), 0);
	assert_false(fd_is_open(fd)); /* It owned the fd. */

	/* The whole life of an inherited listener: the shared case accepts twice. */
	fd = plain_tcp_socket_bound();
	assert_int_equal(listen(fd, 16), 0);
	fidelity_listener_from_fd_accepts(f, fd);
	assert_false(fd_is_open(fd));
}

static void listener_from_fd_refuses_other_socket_kinds(void **state)
{
	struct fidelity *f = fidelity_of(state);
	struct gale_tcp_listener listener;
	/* UDP: an IPv4 socket, but not TCP. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), -EPROTOTYPE);
	assert_true(fd_is_open(fd));
	assert_int_equal(close(fd), 0);
	/* A listening AF_UNIX stream socket: listening, but not IPv4/IPv6. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX; /* Autobind: an abstract name, nothing on disk. */
	assert_int_equal(bind(fd, (const struct sockaddr *)&addr, sizeof(sa_family_t)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), -EAFNOSUPPORT);
	assert_true(fd_is_open(fd));
	assert_int_equal(close(fd), 0);
	/* A TCP socket bound but never listen()ed, blocking as made. */
	fd = plain_tcp_socket_bound();
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), -EINVAL);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0); /* Refused before any change. */
	assert_int_equal(close(fd), 0);
	/* A regular file descriptor (not a socket) and a negative number. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), -ENOTSOCK);
	assert_int_equal(close(fd), 0);
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, -1), -EBADF);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(shutdown_after_peer_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(shutdown_after_both_sides_finished, setup,
						teardown),
		cmocka_unit_test_setup_teardown(shutdown_after_peer_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(guard_after_clear_reports_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(async_fd_readable_woken_by_data_reports_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(async_fd_writable_woken_reports_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(async_fd_readable_woken_by_fin_reports_read_rdhup,
						setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_readable_woken_by_data_reports_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(listener_from_fd_refuses_what_is_not_listening,
						setup, teardown),
		cmocka_unit_test_setup_teardown(buffer_sizes_read_back_doubled, setup, teardown),
		cmocka_unit_test_setup_teardown(acceptconn_reads_listening_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(smaller_buffers_queue_fewer_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_address_gone_after_both_fins, setup, teardown),
		cmocka_unit_test_setup_teardown(listener_shutdown_stops_listening, setup, teardown),
		cmocka_unit_test_setup_teardown(sockopt_errors_fd_first, setup, teardown),
		cmocka_unit_test_setup_teardown(
			listener_from_fd_takes_a_blocking_listener_made_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(listener_from_fd_refuses_other_socket_kinds, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
