/* SPDX-License-Identifier: MIT */
/*
 * Fidelity cases shared by tests/os/test_os_fidelity.c (the epoll driver, loopback) and
 * tests/sim/test_sim_fidelity.c (the simulator): the same bodies, the same expected
 * answers, on both backends (Tokio's semantics where gale once differed, issue 17).
 */
#ifndef GALE_TESTS_FIDELITY_CASES_H
#define GALE_TESTS_FIDELITY_CASES_H

#include <stdbool.h>
#include <stdint.h>

#include <gale/driver.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "test_support.h"

struct fidelity {
	struct gale_driver *driver;            /* Borrowed: epoll or sim. */
	struct gale_runtime runtime;           /* Over it. */
	struct gale_tcp_listener listener;     /* Bound to 127.0.0.1:0. */
	struct gale_socket_addr listener_addr; /* Its address, real port. */
	struct gale_tcp_stream client;         /* Connected to the listener. */
	struct gale_tcp_stream server;         /* Accepted from it. */
	struct gale_test_wake_log log;         /* Wakes of direct polls. */
};

/* Runtime over driver, a listener on 127.0.0.1:0 and one connected pair (cmocka asserts). */
void fidelity_open(struct fidelity *f, struct gale_driver *driver);
/* Closes what is still open and requires the runtime to end empty. */
void fidelity_close(struct fidelity *f);

/* Turns the runtime until waker id was woken, within GALE_TEST_EVENT_WAIT_NS. */
void fidelity_turn_until_woken(struct fidelity *f, uint64_t id);
/* Connects a client to addr and accepts it through listener (tasks). */
void fidelity_connect_accept(struct fidelity *f, struct gale_tcp_listener *listener,
			     const struct gale_socket_addr *addr, struct gale_tcp_stream *client,
			     struct gale_tcp_stream *server);
/* Sends one byte from -> to through the runtime and checks it arrives. */
void fidelity_byte_exchange(struct fidelity *f, struct gale_tcp_stream *from,
			    struct gale_tcp_stream *to);

/* Item 1: shutdown of a connection that is already gone. */
void fidelity_shutdown_after_peer_reset(struct fidelity *f);
void fidelity_shutdown_after_both_sides_finished(struct fidelity *f);
void fidelity_shutdown_after_peer_closed(struct fidelity *f);
/* Item 2: a guard reports no bits once cleared. */
void fidelity_guard_after_clear_reports_nothing(struct fidelity *f);
/* Item 3: a woken readiness future reports only what is ready. */
void fidelity_async_fd_readable_woken_by_data_reports_read(struct fidelity *f);
void fidelity_async_fd_writable_woken_reports_write(struct fidelity *f);
void fidelity_async_fd_readable_woken_by_fin_reports_read_rdhup(struct fidelity *f);
void fidelity_tcp_readable_woken_by_data_reports_read(struct fidelity *f);
/* Item 4: gale_tcp_listener_from_fd on driver-made fds. */
void fidelity_listener_from_fd_accepts(struct fidelity *f, int listening_fd);
void fidelity_listener_from_fd_refuses_what_is_not_listening(struct fidelity *f);
/* Item 6: buffer sizes read back as Linux stores them; SO_ACCEPTCONN. */
void fidelity_buffer_sizes_read_back_doubled(struct fidelity *f);
void fidelity_acceptconn_reads_listening_state(struct fidelity *f);
/* Item 6 (continued): sizes bound the stream; getpeername, listener shutdown, sockopt
 * error order as Linux's. */
void fidelity_smaller_buffers_queue_fewer_bytes(struct fidelity *f);
void fidelity_peer_address_gone_after_both_fins(struct fidelity *f);
void fidelity_listener_shutdown_stops_listening(struct fidelity *f);
void fidelity_sockopt_errors_fd_first(struct fidelity *f);

#endif /* GALE_TESTS_FIDELITY_CASES_H */
