/* SPDX-License-Identifier: MIT */
/*
 * The simulated network: hosts and addresses, ports and SO_REUSEADDR, the TCP handshake's
 * exact timing, refused and unreachable connects, backlogs, FIN and RST in every way a
 * connection ends, socket options, and the network faults (refused, slow, EMFILE, reset,
 * partition) each switched on alone.
 *
 * Methodology: one latency (1 ms unless said), no faults unless a test turns one on, and
 * exact expectations: addresses as text, ports (ephemeral ports count up from 40000 per
 * host), readiness bits and the virtual time at which each arrives. The handshake takes
 * 1.5 round trips: SYN at +1 ms, client writable at +2 ms, accept possible at +3 ms.
 */
#include <errno.h>
#include <string.h>

#include <gale/error.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>

#include "sim_test_support.h"
#include "test_support.h"

#define BASE GALE_SIM_FD_BASE
#define MS INT64_C(1000000)

static struct gale_driver *sim_start(struct gale_sim *sim, const struct gale_sim_options *options)
{
	struct gale_sim_options exact = gale_sim_test_options(MS);
	assert_int_equal(gale_sim_init(sim, options != NULL ? options : &exact), 0);
	return &sim->base;
}

static int tcp_socket(struct gale_driver *driver, int domain)
{
	int fd = gale_driver_socket(driver, domain, SOCK_STREAM, 0);
	assert_true(fd >= BASE);
	return fd;
}

static int sockaddr_call(struct gale_driver *driver, int fd, const char *text, uint16_t port,
			 bool is_connect)
{
	struct sockaddr_storage addr;
	socklen_t addr_len = gale_sim_test_addr(text, port, &addr);
	return is_connect ? gale_driver_connect(driver, fd, (struct sockaddr *)&addr, addr_len)
			  : gale_driver_bind(driver, fd, (struct sockaddr *)&addr, addr_len);
}

static int tcp_bind(struct gale_driver *driver, int fd, const char *text, uint16_t port)
{
	return sockaddr_call(driver, fd, text, port, false);
}

static int tcp_connect(struct gale_driver *driver, int fd, const char *text, uint16_t port)
{
	return sockaddr_call(driver, fd, text, port, true);
}

/* A listener on text:port (0: ephemeral) with backlog. */
static int tcp_listener(struct gale_driver *driver, const char *text, uint16_t port,
			int backlog)
{
	int fd = tcp_socket(driver, strchr(text, ':') != NULL ? AF_INET6 : AF_INET);
	assert_int_equal(tcp_bind(driver, fd, text, port), 0);
	assert_int_equal(gale_driver_listen(driver, fd, backlog), 0);
	return fd;
}

static void fd_text(struct gale_driver *driver, int fd, bool peer, const char *expected)
{
	char text[64];
	gale_sim_test_fd_addr(driver, fd, peer, text, sizeof(text));
	assert_string_equal(text, expected);
}

static void fd_close(struct gale_driver *driver, int fd)
{
	assert_int_equal(gale_driver_close(driver, fd), 0);
}

/* Connects a new client to text:port and accepts it: no registrations, time moves 3 ms. */
static void tcp_pair(struct gale_driver *driver, int listener, const char *text, uint16_t port,
		     int *client_out, int *server_out)
{
	struct gale_event events[8];
	int client = tcp_socket(driver, strchr(text, ':') != NULL ? AF_INET6 : AF_INET);
	assert_int_equal(tcp_connect(driver, client, text, port), -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, listener, 100, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].token, 100);
	assert_int_equal(gale_driver_fd_deregister(driver, listener), 0);
	int server = gale_driver_accept(driver, listener, NULL, NULL);
	assert_true(server >= BASE);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	*client_out = client;
	*server_out = server;
}

/* ---- Connections --------------------------------------------------------------------- */

static void test_connect_accept_echo_ipv4(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char buf[8];
	char text[128];
	int listener = tcp_listener(driver, "127.0.0.1", 0, 8);
	fd_text(driver, listener, false, "127.0.0.1:40000");
	assert_int_equal(gale_driver_fd_register(driver, listener, 1, GALE_READY_READ), 0);
	int client = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 40000), -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, client, 2, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_driver_addr_peer(driver, client, &addr, &addr_len), -ENOTCONN);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 2 * MS);
	assert_int_equal(events[0].token, 2);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 3 * MS);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	int server = gale_driver_accept(driver, listener, &addr, &addr_len);
	assert_int_equal(server, BASE + 2);
	gale_sim_test_addr_text(&addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:40001");
	assert_int_equal(gale_driver_accept(driver, listener, &addr, &addr_len), -EAGAIN);
	fd_text(driver, server, false, "127.0.0.1:40000");
	fd_text(driver, server, true, "127.0.0.1:40001");
	fd_text(driver, client, false, "127.0.0.1:40001");
	fd_text(driver, client, true, "127.0.0.1:40000");
	assert_int_equal(gale_driver_fd_register(driver, server, 3, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_write(driver, client, "ping", 4), 4);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].token, 3);
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(gale_driver_write(driver, server, "pong", 4), 4);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 5 * MS);
	assert_int_equal(events[0].token, 2);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.connections_count, 1);
	assert_int_equal(stats.bytes_delivered, 8);
	gale_sim_fd_describe(&sim, client, text, sizeof(text));
	assert_string_equal(text, "fd 1048577 tcp connected 127.0.0.1:40001 -> 127.0.0.1:40000 "
				  "registered");
	for (int fd = BASE; fd <= BASE + 2; fd++) {
		assert_int_equal(gale_driver_fd_deregister(driver, fd), 0);
		fd_close(driver, fd);
	}
	gale_sim_test_finish(&sim);
}

static void test_connect_accept_ipv6(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	char buf[8];
	int listener = tcp_listener(driver, "::1", 0, 8);
	fd_text(driver, listener, false, "[::1]:40000");
	int client;
	int server;
	tcp_pair(driver, listener, "::1", 40000, &client, &server);
	assert_int_equal(gale_driver_now_ns(driver), 3 * MS);
	fd_text(driver, server, false, "[::1]:40000");
	fd_text(driver, server, true, "[::1]:40001");
	fd_text(driver, client, true, "[::1]:40000");
	assert_int_equal(gale_driver_write(driver, server, "six", 3), 3);
	struct gale_event events[8];
	assert_int_equal(gale_driver_fd_register(driver, client, 1, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 3);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	/* An IPv4 address on an IPv6 socket is the wrong family. */
	int other = tcp_socket(driver, AF_INET6);
	assert_int_equal(tcp_connect(driver, other, "127.0.0.1", 40000), -EAFNOSUPPORT);
	fd_close(driver, other);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_ephemeral_ports_count_up(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	int listener = tcp_listener(driver, "127.0.0.1", 0, 8);
	int clients[3];
	for (int i = 0; i < 3; i++) {
		clients[i] = tcp_socket(driver, AF_INET);
		assert_int_equal(tcp_connect(driver, clients[i], "127.0.0.1", 40000), -EINPROGRESS);
	}
	fd_text(driver, clients[0], false, "127.0.0.1:40001");
	fd_text(driver, clients[1], false, "127.0.0.1:40002");
	fd_text(driver, clients[2], false, "127.0.0.1:40003");
	/* Listening unbound takes an ephemeral port on the wildcard address. */
	int wild = tcp_socket(driver, AF_INET);
	assert_int_equal(gale_driver_listen(driver, wild, 1), 0);
	fd_text(driver, wild, false, "0.0.0.0:40004");
	fd_close(driver, wild);
	for (int i = 0; i < 3; i++)
		fd_close(driver, clients[i]);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_hosts_and_source_addresses(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	uint32_t id = 0;
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(gale_sim_host_add(&sim, "fd00::2", &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.3", NULL), 0);
	assert_int_equal(gale_sim_host_add(&sim, "bogus", &id), -EINVAL);
	assert_int_equal(gale_sim_host_add(&sim, "0.0.0.0", &id), -EINVAL);
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.1", &id), -EEXIST);
	assert_int_equal(gale_sim_host_add(&sim, "127.0.0.1", &id), -EEXIST);
	int listener = tcp_listener(driver, "10.0.0.1", 80, 8);
	int other = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, other, "10.0.0.9", 0), -EADDRNOTAVAIL);
	assert_int_equal(tcp_bind(driver, other, "::1", 0), -EAFNOSUPPORT);
	fd_close(driver, other);
	/* Unbound, to another host: the first host added is the source. */
	int client;
	int server;
	tcp_pair(driver, listener, "10.0.0.1", 80, &client, &server);
	fd_text(driver, client, false, "10.0.0.1:40000");
	fd_text(driver, server, false, "10.0.0.1:80");
	fd_text(driver, server, true, "10.0.0.1:40000");
	/* Bound to a host: that host, with its own counter. */
	int bound = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, bound, "10.0.0.3", 0), 0);
	int accepted;
	fd_close(driver, bound);
	bound = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, bound, "10.0.0.3", 0), 0);
	fd_text(driver, bound, false, "10.0.0.3:40001");
	assert_int_equal(tcp_connect(driver, bound, "10.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, listener, 1, GALE_READY_READ), 0);
	struct gale_event events[8];
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	accepted = gale_driver_accept(driver, listener, NULL, NULL);
	assert_true(accepted >= BASE);
	fd_text(driver, accepted, true, "10.0.0.3:40001");
	assert_int_equal(gale_driver_fd_deregister(driver, listener), 0);
	/* IPv6 to another host: the first host with an IPv6 address is the source. */
	int v6 = tcp_socket(driver, AF_INET6);
	assert_int_equal(tcp_connect(driver, v6, "fd00::2", 80), -EINPROGRESS);
	fd_text(driver, v6, false, "[fd00::2]:40000");
	int fds[] = {v6, accepted, bound, client, server, listener};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fd_close(driver, fds[i]);
	gale_sim_test_finish(&sim);
}

static void test_unreachable_destinations(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	/* Only localhost exists: no route to anything else. */
	int fd = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_connect(driver, fd, "10.0.0.1", 80), -ENETUNREACH);
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.1", NULL), 0);
	/* A route, but nobody owns the address: EHOSTUNREACH after a round trip. */
	assert_int_equal(tcp_connect(driver, fd, "10.9.9.9", 80), -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, fd, 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 2 * MS);
	assert_int_equal(events[0].ready, GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR);
	assert_int_equal(gale_driver_socket_error_take(driver, fd), -EHOSTUNREACH);
	assert_int_equal(gale_driver_fd_deregister(driver, fd), 0);
	fd_close(driver, fd);
	assert_int_equal(gale_sim_stats_get(&sim).connects_refused_count, 1);
	gale_sim_test_finish(&sim);
}

static void test_port_conflicts(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	int a = tcp_socket(driver, AF_INET);
	int b = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, a, "127.0.0.1", 5000), 0);
	assert_int_equal(tcp_bind(driver, a, "127.0.0.1", 5001), -EINVAL); /* Bound already. */
	assert_int_equal(tcp_bind(driver, b, "127.0.0.1", 5000), -EADDRINUSE);
	assert_int_equal(tcp_bind(driver, b, "0.0.0.0", 5000), -EADDRINUSE);
	assert_int_equal(gale_driver_sockopt_set(driver, b, GALE_SOCKOPT_REUSEADDR, 1), 0);
	/* a holds it without SO_REUSEADDR: sharing needs both. */
	assert_int_equal(tcp_bind(driver, b, "127.0.0.1", 5000), -EADDRINUSE);
	int d = tcp_socket(driver, AF_INET);
	assert_int_equal(gale_driver_sockopt_set(driver, d, GALE_SOCKOPT_REUSEADDR, 1), 0);
	assert_int_equal(tcp_bind(driver, d, "127.0.0.1", 6000), 0);
	assert_int_equal(tcp_bind(driver, b, "127.0.0.1", 6000), 0);
	assert_int_equal(gale_driver_listen(driver, d, 4), 0);
	assert_int_equal(gale_driver_listen(driver, b, 4), -EADDRINUSE);
	int e = tcp_socket(driver, AF_INET);
	assert_int_equal(gale_driver_sockopt_set(driver, e, GALE_SOCKOPT_REUSEADDR, 1), 0);
	/* A listener holds the port even against SO_REUSEADDR. */
	assert_int_equal(tcp_bind(driver, e, "127.0.0.1", 6000), -EADDRINUSE);
	fd_close(driver, d);
	assert_int_equal(tcp_bind(driver, e, "127.0.0.1", 6000), 0);
	int f = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, f, "0.0.0.0", 7000), 0);
	int g = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, g, "127.0.0.1", 7000), -EADDRINUSE);
	fd_close(driver, f);
	assert_int_equal(tcp_bind(driver, g, "127.0.0.1", 7000), 0);
	/* IPv6 ports are separate from IPv4 ones. */
	int h = tcp_socket(driver, AF_INET6);
	assert_int_equal(tcp_bind(driver, h, "::1", 7000), 0);
	int fds[] = {a, b, e, g, h};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fd_close(driver, fds[i]);
	gale_sim_test_finish(&sim);
}

static void test_refused_connect(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char buf[4];
	int client = tcp_socket(driver, AF_INET);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EPIPE);
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 9), -EINPROGRESS);
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 9), -EALREADY);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EAGAIN);
	assert_int_equal(gale_driver_fd_register(driver, client, 4, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 2 * MS);
	assert_int_equal(events[0].token, 4);
	assert_int_equal(events[0].ready, GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EPIPE);
	assert_int_equal(gale_driver_addr_peer(driver, client, &addr, &addr_len), -ENOTCONN);
	assert_int_equal(gale_driver_socket_error_take(driver, client), -ECONNREFUSED);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	assert_int_equal(gale_sim_stats_get(&sim).connects_refused_count, 1);
	/* The socket may try again, from the port it got; this time someone listens. */
	int listener = tcp_listener(driver, "127.0.0.1", 9, 4);
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 9), -EINPROGRESS);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	fd_text(driver, client, false, "127.0.0.1:40000");
	fd_text(driver, client, true, "127.0.0.1:9");
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	fd_close(driver, client);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_backlog_overflow_refuses(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 1);
	int a = tcp_socket(driver, AF_INET);
	int b = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_connect(driver, a, "127.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(tcp_connect(driver, b, "127.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(gale_driver_fd_register(driver, a, 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_driver_fd_register(driver, b, 2, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 2);
	assert_int_equal(gale_driver_now_ns(driver), 2 * MS);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	assert_int_equal(events[1].token, 2);
	assert_int_equal(events[1].ready, GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR);
	assert_int_equal(gale_driver_socket_error_take(driver, a), 0);
	assert_int_equal(gale_driver_socket_error_take(driver, b), -ECONNREFUSED);
	assert_int_equal(gale_driver_fd_deregister(driver, a), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, b), 0);
	fd_close(driver, a);
	fd_close(driver, b);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

/* ---- Ends of connections ------------------------------------------------------------- */

static void test_fin_eof_rdhup(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_fd_register(driver, server, 1, GALE_READY_READ), 0);
	assert_int_equal(gale_driver_fd_register(driver, client, 2, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1); /* Client writable. */
	assert_int_equal(gale_driver_write(driver, client, "bye", 3), 3);
	assert_int_equal(gale_driver_shutdown(driver, client, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EPIPE);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_RDHUP);
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), 3);
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), 0);
	/* Half-closed: the server still writes, the client still reads. */
	assert_int_equal(gale_driver_write(driver, server, "ack", 3), 3);
	assert_int_equal(gale_driver_shutdown(driver, server, GALE_SHUTDOWN_WRITE), 0);
	/* Both directions of the server are done now: HUP (always reported) is new. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 5 * MS);
	assert_int_equal(events[0].token, 2);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP |
						  GALE_READY_HUP);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "ack", 3);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, server), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_close_with_unread_data_resets(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_write(driver, client, "unread", 6), 6);
	assert_int_equal(gale_sim_test_wait(driver, 2 * MS, events), 0); /* Delivered at 4 ms. */
	fd_close(driver, server); /* 6 bytes never read: a RST, not a FIN. */
	assert_int_equal(gale_driver_fd_register(driver, client, 2, GALE_READY_INTEREST_ALL), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE); /* At registration. */
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 6 * MS);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP |
						  GALE_READY_HUP | GALE_READY_ERROR);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EPIPE);
	assert_int_equal(gale_driver_shutdown(driver, client, GALE_SHUTDOWN_WRITE), -ENOTCONN);
	assert_int_equal(gale_sim_stats_get(&sim).resets_count, 1);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	fd_close(driver, client);
	/* SO_LINGER 0 resets even with nothing unread. */
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_sockopt_set(driver, server, GALE_SOCKOPT_LINGER, 0), 0);
	fd_close(driver, server);
	assert_int_equal(gale_sim_test_wait(driver, 2 * MS, events), 0);
	assert_int_equal(gale_driver_socket_error_take(driver, client), -ECONNRESET);
	fd_close(driver, client);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_write_after_peer_close_is_epipe(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	char buf[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	fd_close(driver, server); /* Nothing unread: a FIN. */
	assert_int_equal(gale_driver_fd_register(driver, client, 2, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_RDHUP);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 0);
	/* The first write is accepted; the closed socket answers it with a RST. */
	assert_int_equal(gale_driver_write(driver, client, "late", 4), 4);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 6 * MS);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP |
						  GALE_READY_ERROR);
	/* CLOSE_WAIT: the RST's error is EPIPE, then the socket stays broken. */
	assert_int_equal(gale_driver_write(driver, client, "more", 4), -EPIPE);
	assert_int_equal(gale_driver_write(driver, client, "more", 4), -EPIPE);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	fd_close(driver, client);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_listener_close_resets_queued(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	struct gale_event events[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int queued = tcp_socket(driver, AF_INET);
	int handshaking = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_connect(driver, queued, "127.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(gale_sim_test_wait(driver, 2 * MS + MS / 2, events), 0);
	assert_int_equal(tcp_connect(driver, handshaking, "127.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(gale_sim_test_wait(driver, MS, events), 0); /* 3.5 ms: one queued. */
	fd_close(driver, listener);
	/* The queued one gets a RST at 4.5 ms; the other one completes its handshake at
	 * 4.5 ms, and its ACK finds no listener at 5.5 ms: a RST at 6.5 ms. */
	assert_int_equal(gale_sim_test_wait(driver, 4 * MS, events), 0);
	assert_int_equal(gale_driver_now_ns(driver), 7 * MS + MS / 2);
	assert_int_equal(gale_driver_socket_error_take(driver, queued), -ECONNRESET);
	assert_int_equal(gale_driver_socket_error_take(driver, handshaking), -ECONNRESET);
	assert_int_equal(gale_sim_stats_get(&sim).resets_count, 2);
	fd_close(driver, queued);
	fd_close(driver, handshaking);
	gale_sim_test_finish(&sim);
}

static void test_backpressure_counts_bytes_in_flight(void **state)
{
	(void)state;
	static char big[10000];
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.socket_buf_size = 4096;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_fd_register(driver, client, 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	/* Nothing delivered yet, and still only one buffer's worth is accepted. */
	assert_int_equal(gale_driver_write(driver, client, big, sizeof(big)), 4096);
	assert_int_equal(gale_driver_write(driver, client, big, sizeof(big)), -EAGAIN);
	assert_int_equal(gale_driver_fd_register(driver, server, 2, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].token, 2);
	assert_int_equal(gale_driver_read(driver, server, big, 1000), 1000);
	/* Space comes back with the read (no window-update delay). */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 1);
	assert_int_equal(events[0].ready, GALE_READY_WRITE);
	assert_int_equal(gale_driver_write(driver, client, big, sizeof(big)), 1000);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, server), 0);
	assert_int_equal(gale_driver_read(driver, server, big, sizeof(big)), 3096);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_bandwidth_spaces_segments(void **state)
{
	(void)state;
	static char block[1000];
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.bandwidth_bytes_per_s = 1000000; /* 1000 bytes take 1 ms on the wire. */
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_write(driver, client, block, sizeof(block)), 1000);
	assert_int_equal(gale_driver_write(driver, client, block, sizeof(block)), 1000);
	assert_int_equal(gale_driver_fd_register(driver, server, 1, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 5 * MS); /* 3 + 1 on the wire + 1. */
	assert_int_equal(gale_driver_read(driver, server, block, sizeof(block)), 1000);
	assert_int_equal(gale_driver_read(driver, server, block, sizeof(block)), -EAGAIN);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 6 * MS); /* Queued behind the first. */
	assert_int_equal(gale_driver_read(driver, server, block, sizeof(block)), 1000);
	assert_int_equal(gale_driver_fd_deregister(driver, server), 0);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

/* ---- Options and errors -------------------------------------------------------------- */

static void test_socket_options(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	static const int defaults[] = {0, 0, 0, 65536, 65536, -1, 64};
	int value = 0;
	int fd = tcp_socket(driver, AF_INET);
	for (int opt = GALE_SOCKOPT_NODELAY; opt <= GALE_SOCKOPT_TTL; opt++) {
		assert_int_equal(gale_driver_sockopt_get(driver, fd, opt, &value), 0);
		assert_int_equal(value, defaults[opt]);
	}
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_V6ONLY, &value),
			 -ENOPROTOOPT);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_TTL, 0), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_TTL, 256), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_NODELAY, 2), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_LINGER, -2), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_SNDBUF, -1), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_TTL, 10), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_NODELAY, 1), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_TTL, &value), 0);
	assert_int_equal(value, 10);
	/* Accepted sockets inherit the listener's options. */
	assert_int_equal(tcp_bind(driver, fd, "127.0.0.1", 80), 0);
	assert_int_equal(gale_driver_listen(driver, fd, 4), 0);
	int client;
	int server;
	tcp_pair(driver, fd, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_sockopt_get(driver, server, GALE_SOCKOPT_NODELAY, &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(gale_driver_sockopt_get(driver, client, GALE_SOCKOPT_NODELAY, &value), 0);
	assert_int_equal(value, 0);
	int v6 = tcp_socket(driver, AF_INET6);
	assert_int_equal(gale_driver_sockopt_set(driver, v6, GALE_SOCKOPT_V6ONLY, 1), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, v6, GALE_SOCKOPT_V6ONLY, &value), 0);
	assert_int_equal(value, 1);
	int pair[2];
	assert_int_equal(gale_driver_socketpair(driver, pair), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, pair[0], GALE_SOCKOPT_NODELAY, 1),
			 -ENOPROTOOPT);
	assert_int_equal(gale_driver_sockopt_set(driver, pair[0], GALE_SOCKOPT_KEEPALIVE, 1), 0);
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	assert_int_equal(gale_driver_addr_local(driver, pair[0], &addr, &addr_len), 0);
	assert_int_equal(addr.ss_family, AF_UNIX);
	assert_int_equal(addr_len, sizeof(sa_family_t));
	int pipe_fds[2];
	assert_int_equal(gale_driver_pipe(driver, pipe_fds), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, pipe_fds[0], GALE_SOCKOPT_TTL, &value),
			 -ENOTSOCK);
	assert_int_equal(gale_driver_addr_local(driver, pipe_fds[0], &addr, &addr_len), -ENOTSOCK);
	int fds[] = {fd, client, server, v6, pair[0], pair[1], pipe_fds[0], pipe_fds[1]};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fd_close(driver, fds[i]);
	gale_sim_test_finish(&sim);
}

static void test_call_errors_by_state(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, NULL);
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int fresh = tcp_socket(driver, AF_INET);
	int pair[2];
	int pipe_fds[2];
	assert_int_equal(gale_driver_socketpair(driver, pair), 0);
	assert_int_equal(gale_driver_pipe(driver, pipe_fds), 0);
	assert_int_equal(gale_driver_accept(driver, fresh, NULL, NULL), -EINVAL);
	assert_int_equal(gale_driver_accept(driver, pair[0], NULL, NULL), -EINVAL);
	assert_int_equal(gale_driver_accept(driver, pipe_fds[0], NULL, NULL), -ENOTSOCK);
	assert_int_equal(gale_driver_listen(driver, pair[0], 1), -EINVAL);
	assert_int_equal(tcp_bind(driver, pair[0], "127.0.0.1", 0), -EINVAL);
	assert_int_equal(tcp_connect(driver, pair[0], "127.0.0.1", 80), -EISCONN);
	assert_int_equal(tcp_connect(driver, pipe_fds[1], "127.0.0.1", 80), -ENOTSOCK);
	assert_int_equal(tcp_connect(driver, listener, "127.0.0.1", 80), -EISCONN);
	assert_int_equal(gale_driver_shutdown(driver, fresh, GALE_SHUTDOWN_BOTH), -ENOTCONN);
	/* Linux: 0, and the write side alone leaves the listener listening (fidelity tests). */
	assert_int_equal(gale_driver_shutdown(driver, listener, GALE_SHUTDOWN_WRITE), 0);
	struct sockaddr_storage addr;
	socklen_t addr_len = gale_sim_test_addr("127.0.0.1", 80, &addr);
	assert_int_equal(gale_driver_connect(driver, fresh, (struct sockaddr *)&addr, 4), -EINVAL);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_connect(driver, client, (struct sockaddr *)&addr, addr_len),
			 -EISCONN);
	assert_int_equal(gale_driver_listen(driver, client, 1), -EINVAL);
	assert_int_equal(gale_driver_listen(driver, listener, 16), 0); /* A new backlog. */
	int fds[] = {listener, fresh, pair[0], pair[1], pipe_fds[0], pipe_fds[1], client, server};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fd_close(driver, fds[i]);
	gale_sim_test_finish(&sim);
}

/* ---- Network faults ------------------------------------------------------------------ */

static struct gale_fault_profile profile_none(void)
{
	struct gale_fault_profile profile = {.name = "test"};
	profile.ready_delay_ns_max = MS;
	profile.latency_jitter_ns_max = MS;
	profile.connect_delay_ns_max = MS;
	profile.partition_ns_max = 10 * MS;
	return profile;
}

static void test_fault_connect_refused_slow_emfile(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_none();
	profile.ratios[GALE_FAULT_CONNECT_REFUSED] = (struct gale_ratio){1, 1};
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 80), -EINPROGRESS);
	assert_int_equal(gale_sim_test_wait(driver, 2 * MS, events), 0);
	assert_int_equal(gale_driver_socket_error_take(driver, client), -ECONNREFUSED);
	profile.ratios[GALE_FAULT_CONNECT_REFUSED] = (struct gale_ratio){0, 0};
	profile.ratios[GALE_FAULT_CONNECT_SLOW] = (struct gale_ratio){1, 1};
	assert_int_equal(tcp_connect(driver, client, "127.0.0.1", 80), -EINPROGRESS);
	profile.ratios[GALE_FAULT_CONNECT_SLOW] = (struct gale_ratio){0, 0};
	assert_int_equal(gale_driver_fd_register(driver, client, 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	int64_t connected_ns = gale_driver_now_ns(driver) - 2 * MS;
	assert_true(connected_ns > 2 * MS && connected_ns <= 3 * MS); /* Up to 1 ms late. */
	assert_int_equal(gale_driver_fd_register(driver, listener, 2, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	profile.ratios[GALE_FAULT_ACCEPT_EMFILE] = (struct gale_ratio){1, 1};
	assert_int_equal(gale_driver_accept(driver, listener, NULL, NULL), -EMFILE);
	profile.ratios[GALE_FAULT_ACCEPT_EMFILE] = (struct gale_ratio){0, 0};
	/* The connection stayed queued, and the listener is told again. */
	assert_int_equal(gale_sim_test_wait(driver, 0, events), 1);
	assert_int_equal(events[0].token, 2);
	int server = gale_driver_accept(driver, listener, NULL, NULL);
	assert_true(server >= BASE);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_CONNECT_REFUSED], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_CONNECT_SLOW], 1);
	assert_int_equal(stats.faults.injected[GALE_FAULT_ACCEPT_EMFILE], 1);
	assert_int_equal(gale_driver_fd_deregister(driver, client), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, listener), 0);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_fault_reset_mid_stream(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_none();
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	char buf[8];
	int listener = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, listener, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_fd_register(driver, server, 1, GALE_READY_READ), 0);
	profile.ratios[GALE_FAULT_RESET] = (struct gale_ratio){1, 1};
	assert_int_equal(gale_driver_write(driver, client, "lost", 4), 4);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(gale_driver_now_ns(driver), 4 * MS);
	assert_int_equal(events[0].ready, GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP |
						  GALE_READY_ERROR);
	/* Both ends got the RST; the bytes in flight never arrive. */
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(gale_driver_read(driver, server, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(driver, server, "x", 1), -EPIPE);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -ECONNRESET);
	assert_int_equal(gale_driver_write(driver, client, "x", 1), -EPIPE);
	assert_int_equal(gale_driver_read(driver, client, buf, sizeof(buf)), 0);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.faults.injected[GALE_FAULT_RESET], 1);
	assert_int_equal(stats.resets_count, 2);
	assert_int_equal(stats.bytes_delivered, 0);
	assert_int_equal(gale_driver_fd_deregister(driver, server), 0);
	fd_close(driver, client);
	fd_close(driver, server);
	fd_close(driver, listener);
	gale_sim_test_finish(&sim);
}

static void test_fault_partition_and_jitter(void **state)
{
	(void)state;
	struct gale_fault_profile profile = profile_none();
	profile.ratios[GALE_FAULT_PARTITION] = (struct gale_ratio){1, 1};
	struct gale_sim_options options = gale_sim_test_options(MS);
	options.profile = &profile;
	struct gale_sim sim;
	struct gale_driver *driver = sim_start(&sim, &options);
	struct gale_event events[8];
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.1", NULL), 0);
	assert_int_equal(gale_sim_host_add(&sim, "10.0.0.2", NULL), 0);
	/* Within one host a partition never happens: exact timing. */
	int local = tcp_listener(driver, "127.0.0.1", 80, 4);
	int client;
	int server;
	tcp_pair(driver, local, "127.0.0.1", 80, &client, &server);
	assert_int_equal(gale_driver_now_ns(driver), 3 * MS);
	assert_int_equal(gale_sim_stats_get(&sim).faults.injected[GALE_FAULT_PARTITION], 0);
	fd_close(driver, client);
	fd_close(driver, server);
	/* Between two hosts the SYN is held until the partition heals (up to 10 ms). */
	int remote = tcp_listener(driver, "10.0.0.1", 80, 4);
	int far = tcp_socket(driver, AF_INET);
	assert_int_equal(tcp_bind(driver, far, "10.0.0.2", 0), 0);
	assert_int_equal(tcp_connect(driver, far, "10.0.0.1", 80), -EINPROGRESS);
	profile.ratios[GALE_FAULT_PARTITION] = (struct gale_ratio){0, 0};
	assert_int_equal(gale_driver_fd_register(driver, far, 1, GALE_READY_WRITE), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	int64_t handshake_ns = gale_driver_now_ns(driver) - 3 * MS;
	assert_true(handshake_ns >= 2 * MS && handshake_ns <= 11 * MS);
	assert_int_equal(gale_sim_stats_get(&sim).faults.injected[GALE_FAULT_PARTITION], 1);
	/* Jitter: a segment arrives 1 ms + (0, 1 ms] after it was sent, so after the ACK
	 * that left at the same time (1 ms). */
	profile.ratios[GALE_FAULT_LATENCY_JITTER] = (struct gale_ratio){1, 1};
	int64_t sent_ns = gale_driver_now_ns(driver);
	assert_int_equal(gale_driver_write(driver, far, "j", 1), 1);
	profile.ratios[GALE_FAULT_LATENCY_JITTER] = (struct gale_ratio){0, 0};
	assert_int_equal(gale_driver_fd_register(driver, remote, 3, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].token, 3);
	assert_int_equal(gale_driver_now_ns(driver) - sent_ns, MS);
	int accepted = gale_driver_accept(driver, remote, NULL, NULL);
	assert_int_equal(gale_driver_fd_register(driver, accepted, 2, GALE_READY_READ), 0);
	assert_int_equal(gale_sim_test_wait(driver, -1, events), 1);
	assert_int_equal(events[0].token, 2);
	char byte;
	assert_int_equal(gale_driver_read(driver, accepted, &byte, 1), 1);
	assert_int_equal(byte, 'j');
	int64_t travel_ns = gale_driver_now_ns(driver) - sent_ns;
	assert_true(travel_ns > MS && travel_ns <= 2 * MS);
	assert_int_equal(gale_sim_stats_get(&sim).faults.injected[GALE_FAULT_LATENCY_JITTER], 1);
	assert_int_equal(gale_driver_fd_deregister(driver, far), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, accepted), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, remote), 0);
	int fds[] = {far, accepted, remote, local};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fd_close(driver, fds[i]);
	gale_sim_test_finish(&sim);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_accept_echo_ipv4),
		cmocka_unit_test(test_connect_accept_ipv6),
		cmocka_unit_test(test_ephemeral_ports_count_up),
		cmocka_unit_test(test_hosts_and_source_addresses),
		cmocka_unit_test(test_unreachable_destinations),
		cmocka_unit_test(test_port_conflicts),
		cmocka_unit_test(test_refused_connect),
		cmocka_unit_test(test_backlog_overflow_refuses),
		cmocka_unit_test(test_fin_eof_rdhup),
		cmocka_unit_test(test_close_with_unread_data_resets),
		cmocka_unit_test(test_write_after_peer_close_is_epipe),
		cmocka_unit_test(test_listener_close_resets_queued),
		cmocka_unit_test(test_backpressure_counts_bytes_in_flight),
		cmocka_unit_test(test_bandwidth_spaces_segments),
		cmocka_unit_test(test_socket_options),
		cmocka_unit_test(test_call_errors_by_state),
		cmocka_unit_test(test_fault_connect_refused_slow_emfile),
		cmocka_unit_test(test_fault_reset_mid_stream),
		cmocka_unit_test(test_fault_partition_and_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
