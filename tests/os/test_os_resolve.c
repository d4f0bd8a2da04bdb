/* SPDX-License-Identifier: MIT */
/*
 * Host names on the real kernel: the c-ares resolver over the epoll driver, loopback only.
 *
 * Methodology: every name server is one the test runs itself on 127.0.0.1, port 0, so no
 * test depends on the machine's DNS:
 *   - a UDP socket that never answers (the only server, set through c-ares's servers
 *     API): the query must time out on the runtime's timers while another task keeps
 *     running, and the server must have received the query (through the driver);
 *   - a DNS-over-TCP server written here (a task on the same runtime) that answers one
 *     name with 127.0.0.1 and every other with NXDOMAIN: connect by name reaches a
 *     listener, an unknown name fails with GALE_E_RESOLVE_NOT_FOUND and a message naming it;
 *   - "localhost" comes from /etc/hosts as c-ares reads it (bind and connect by name).
 * Cancelling a query in flight must end c-ares's work at once (no wait for its timeout),
 * close its sockets and leak nothing (ASan builds check the leaks). Waits are bounded by
 * GALE_TEST_EVENT_WAIT_NS and by the runtime finishing its tasks, never by a time window.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/resolve.h>
#include <gale/resolver_ares.h>
#include <gale/rt.h>
#include <gale/tcp.h>
#include <gale/time.h>
#include <gale/write_all.h>

#include "test_support.h"

#define MS (1000 * 1000LL)

struct fixture {
	struct gale_driver_epoll epoll;     /* The real driver. */
	struct gale_runtime runtime;        /* Over it. */
	struct gale_resolver_ares resolver; /* c-ares, installed on the runtime. */
	bool resolver_live;                 /* Teardown deinits it. */
	int udp_fd;                         /* The silent server's socket, or -1. */
	char servers[64];                   /* "127.0.0.1:port" of the test's server. */
};

static int setup(void **state)
{
	static struct fixture fixture;
	memset(&fixture, 0, sizeof(fixture));
	fixture.udp_fd = -1;
	assert_int_equal(gale_driver_epoll_init(&fixture.epoll), 0);
	assert_int_equal(gale_runtime_init(&fixture.runtime, &fixture.epoll.base, NULL), 0);
	*state = &fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->resolver_live) {
		gale_runtime_resolver_set(&f->runtime, NULL);
		gale_resolver_deinit(&f->resolver.base);
	}
	if (f->udp_fd >= 0)
		(void)gale_driver_close(&f->epoll.base, f->udp_fd);
	assert_int_equal(gale_runtime_deinit(&f->runtime), 0);
	gale_driver_epoll_deinit(&f->epoll);
	return 0;
}

static void resolver_start(struct fixture *f, const struct gale_resolver_ares_options *options)
{
	assert_int_equal(gale_resolver_ares_init(&f->resolver, &f->runtime, options), 0);
	gale_runtime_resolver_set(&f->runtime, &f->resolver.base);
	f->resolver_live = true;
}

/* A UDP socket on 127.0.0.1:0 that nobody reads: f->servers names it. */
static void silent_server_start(struct fixture *f)
{
	struct gale_driver *driver = &f->epoll.base;
	f->udp_fd = gale_driver_socket(driver, AF_INET, SOCK_DGRAM, 0);
	assert_true(f->udp_fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(gale_driver_bind(driver, f->udp_fd, (struct sockaddr *)&addr,
					  sizeof(addr)), 0);
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	assert_int_equal(gale_driver_addr_local(driver, f->udp_fd, &local, &len), 0);
	snprintf(f->servers, sizeof(f->servers), "127.0.0.1:%u",
		 ntohs(((struct sockaddr_in *)&local)->sin_port));
}

/* ---- A resolve task and a ticker beside it ---- */

struct resolve_task {
	struct gale_resolve future; /* The resolution. */
	int result;                 /* Its result, once done. */
	bool is_done;               /* Completed. */
	int64_t done_ns;            /* When. */
};

static int resolve_task_poll(void *data, struct gale_cx *cx)
{
	struct resolve_task *task = data;
	int rc = gale_resolve_poll(&task->future, cx);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	task->result = rc;
	task->is_done = true;
	return 0;
}

struct ticker {
	struct gale_runtime *runtime; /* Borrowed. */
	struct gale_sleep sleep;      /* The next tick. */
	const bool *stop;             /* Ends the ticker once true. */
	unsigned ticks;               /* Ticks so far. */
	bool is_sleeping;             /* sleep is armed for the next tick. */
};

static int ticker_poll(void *data, struct gale_cx *cx)
{
	struct ticker *ticker = data;
	for (;;) {
		if (*ticker->stop)
			return 0;
		if (!ticker->is_sleeping) {
			gale_sleep_init(&ticker->sleep, ticker->runtime, 2 * MS);
			ticker->is_sleeping = true;
		}
		if (gale_sleep_poll(&ticker->sleep, cx) == GALE_PENDING)
			return GALE_PENDING;
		ticker->is_sleeping = false;
		ticker->ticks++;
	}
}

/* A server that never answers: the query times out on the runtime's timers, the loop
 * keeps running other tasks meanwhile, and the query did reach the server. */
static void silent_server_times_out_while_other_tasks_run(void **state)
{
	struct fixture *f = *state;
	silent_server_start(f);
	struct gale_resolver_ares_options options = {
		.servers = f->servers, .timeout_ms = 300, .tries = 1};
	resolver_start(f, &options);
	struct resolve_task task = {0};
	gale_resolve_init_host(&task.future, &f->runtime, "silent.gale-test", 80, AF_INET);
	struct ticker ticker = {.runtime = &f->runtime, .stop = &task.is_done};
	struct gale_task_handle handles[2];
	int64_t start_ns = gale_runtime_now_ns(&f->runtime);
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, resolve_task_poll, &task,
					     &handles[0]), 0);
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, ticker_poll, &ticker,
					     &handles[1]), 0);
	assert_int_equal(gale_runtime_run(&f->runtime), 0);
	assert_true(task.is_done);
	assert_int_equal(task.result, GALE_E_RESOLVE_TIMED_OUT);
	int64_t elapsed_ns = gale_runtime_now_ns(&f->runtime) - start_ns;
	assert_true(elapsed_ns >= 300 * MS);
	assert_true(elapsed_ns < GALE_TEST_EVENT_WAIT_NS);
	/* The loop was never blocked: the 2 ms ticker ran all along (a third of its ticks is
	 * plenty even on a loaded machine; a blocking resolve would allow about none). */
	assert_true(ticker.ticks >= 20);
	/* The query went out through the driver to the only server. */
	char datagram[512];
	assert_true(gale_driver_recv(&f->epoll.base, f->udp_fd, datagram, sizeof(datagram), 0) >
		    12);
	assert_int_equal(gale_resolver_ares_sockets_open(&f->resolver), 0);
	char message[256];
	gale_resolve_describe(&task.future, task.result, message, sizeof(message));
	assert_non_null(strstr(message, "silent.gale-test"));
	assert_non_null(strstr(message, "did not answer"));
	gale_resolve_deinit(&task.future);
	for (int i = 0; i < 2; i++) {
		int result = -1;
		assert_int_equal(gale_executor_try_join(&f->runtime.executor, handles[i], &result),
				 0);
	}
}

/* Deinit of a query in flight: c-ares's work ends now, not at its 20 s timeout. */
struct cancel_task {
	struct gale_resolve future; /* Cancelled after its first poll. */
	struct gale_sleep sleep;    /* Gives the query time to reach the server. */
	int stage;                  /* 0: start, 1: resolving, 2: done. */
};

static int cancel_task_poll(void *data, struct gale_cx *cx)
{
	struct cancel_task *task = data;
	if (task->stage == 0) {
		assert_int_equal(gale_resolve_poll(&task->future, cx), GALE_PENDING);
		task->stage = 1;
	}
	if (gale_sleep_poll(&task->sleep, cx) == GALE_PENDING)
		return GALE_PENDING;
	gale_resolve_deinit(&task->future);
	task->stage = 2;
	return 0;
}

static void cancel_in_flight_ends_the_query_and_leaks_nothing(void **state)
{
	struct fixture *f = *state;
	silent_server_start(f);
	struct gale_resolver_ares_options options = {
		.servers = f->servers, .timeout_ms = 20000, .tries = 1};
	resolver_start(f, &options);
	struct cancel_task task = {0};
	gale_resolve_init(&task.future, &f->runtime, "cancelled.gale-test:80");
	gale_sleep_init(&task.sleep, &f->runtime, 20 * MS);
	struct gale_task_handle handle;
	int64_t start_ns = gale_runtime_now_ns(&f->runtime);
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, cancel_task_poll, &task,
					     &handle), 0);
	assert_int_equal(gale_runtime_run(&f->runtime), 0);
	assert_int_equal(task.stage, 2);
	/* Well under c-ares's 20 s timeout: the cancel ended its query. */
	assert_true(gale_runtime_now_ns(&f->runtime) - start_ns < 15000 * MS);
	assert_int_equal(gale_resolver_ares_sockets_open(&f->resolver), 0);
	assert_int_equal(gale_runtime_timers_count(&f->runtime), 0);
	gale_sleep_deinit(&task.sleep);
	gale_resolve_deinit(&task.future); /* Idempotent. */
	int result = -1;
	assert_int_equal(gale_executor_try_join(&f->runtime.executor, handle, &result), 0);
}

/* A query still in flight when the resolver goes away is not possible (the caller's
 * contract), but one cancelled and still held by c-ares is: deinit must free it. */
static void deinit_after_cancel_frees_what_c_ares_held(void **state)
{
	struct fixture *f = *state;
	silent_server_start(f);
	struct gale_resolver_ares_options options = {
		.servers = f->servers, .timeout_ms = 20000, .tries = 1};
	resolver_start(f, &options);
	struct gale_resolve a;
	struct gale_resolve b;
	gale_resolve_init(&a, &f->runtime, "a.gale-test:1");
	gale_resolve_init(&b, &f->runtime, "b.gale-test:1");
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {.waker = gale_test_waker(&log, 1)};
	assert_int_equal(gale_resolve_poll(&a, &cx), GALE_PENDING);
	assert_int_equal(gale_resolve_poll(&b, &cx), GALE_PENDING);
	gale_resolve_deinit(&a); /* b still waits: c-ares keeps both queries. */
	gale_resolve_deinit(&b); /* Nobody waits: c-ares's queries end now. */
	assert_int_equal(gale_resolver_ares_sockets_open(&f->resolver), 0);
	/* The resolver's task was spawned; it finishes on its next poll. */
	assert_int_equal(gale_runtime_run(&f->runtime), 0);
}

/* ---- A DNS-over-TCP server: one name answers 127.0.0.1, the rest NXDOMAIN ---- */

#define DNS_NAME_KNOWN "db.gale-test"

struct dns_server {
	struct gale_tcp_listener listener; /* 127.0.0.1:0. */
	struct gale_tcp_stream stream;     /* The resolver's connection. */
	bool is_connected;                 /* stream holds it. */
	int stage;                         /* 0 length, 1 message, 2 reply. */
	uint8_t length[2];                 /* The query's length prefix. */
	uint8_t message[512];              /* The query, then the reply (prefixed). */
	size_t reply_len;                  /* Reply bytes, prefix included. */
	struct gale_read_exact read;       /* Stages 0 and 1. */
	struct gale_write_all write;       /* Stage 2. */
	unsigned queries;                  /* Queries answered. */
};

/* The question's name as text ("db.gale-test"); its end offset, or 0 if malformed. */
static size_t dns_question_name(const uint8_t *msg, size_t len, char *name, size_t cap)
{
	size_t at = 12;
	size_t out = 0;
	while (at < len && msg[at] != 0) {
		size_t label = msg[at++];
		if (label > 63 || at + label > len || out + label + 2 > cap)
			return 0;
		if (out > 0)
			name[out++] = '.';
		memcpy(name + out, msg + at, label);
		out += label;
		at += label;
	}
	name[out] = '\0';
	return at + 5 <= len ? at + 5 : 0; /* The root label, type and class. */
}

/* Builds the reply in place: the header and question kept, an A record or NXDOMAIN. */
static void dns_reply_build(struct dns_server *server, size_t query_len)
{
	uint8_t *msg = server->message + 2;
	char name[256];
	size_t question_end = dns_question_name(server->message, query_len, name, sizeof(name));
	assert_true(question_end > 0);
	bool known = strcmp(name, DNS_NAME_KNOWN) == 0;
	static const uint8_t answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
	memmove(msg, server->message, question_end);
	msg[2] = (uint8_t)(0x80 | (msg[2] & 0x01)); /* QR, RD copied. */
	msg[3] = known ? 0x80 : 0x83;               /* RA; NOERROR or NXDOMAIN. */
	msg[6] = 0;
	msg[7] = known ? 1 : 0; /* ANCOUNT. */
	memset(msg + 8, 0, 4);  /* NSCOUNT, ARCOUNT (an EDNS record is dropped). */
	size_t len = question_end;
	if (known) {
		memcpy(msg + len, answer, sizeof(answer));
		len += sizeof(answer);
	}
	server->message[0] = (uint8_t)(len >> 8);
	server->message[1] = (uint8_t)len;
	server->reply_len = len + 2;
}

/* One query: length, message, reply. 0 after the reply, or a poll result. */
static int dns_server_query_poll(struct dns_server *server, struct gale_cx *cx)
{
	if (server->stage == 0) {
		int rc = gale_read_exact_poll(&server->read, cx);
		if (rc != 0)
			return rc;
		size_t len = (size_t)server->length[0] << 8 | server->length[1];
		assert_true(len > 12 && len <= sizeof(server->message) - 64);
		gale_read_exact_init(&server->read, gale_tcp_stream_reader(&server->stream),
				     server->message, len);
		server->reply_len = len;
		server->stage = 1;
	}
	if (server->stage == 1) {
		int rc = gale_read_exact_poll(&server->read, cx);
		if (rc != 0)
			return rc;
		dns_reply_build(server, server->reply_len);
		gale_write_all_init(&server->write, gale_tcp_stream_writer(&server->stream),
				    server->message, server->reply_len);
		server->stage = 2;
	}
	int rc = gale_write_all_poll(&server->write, cx);
	if (rc != 0)
		return rc;
	server->queries++;
	server->stage = 0;
	gale_read_exact_init(&server->read, gale_tcp_stream_reader(&server->stream),
			     server->length, 2);
	return 0;
}

/* Serves connections one after the other (c-ares closes its connection when idle) until
 * aborted. */
static int dns_server_poll(void *data, struct gale_cx *cx)
{
	struct dns_server *server = data;
	for (;;) {
		if (!server->is_connected) {
			int rc = gale_tcp_listener_poll_accept(&server->listener, cx,
							       &server->stream, NULL);
			if (rc != 0)
				return rc;
			server->is_connected = true;
			server->stage = 0;
			gale_read_exact_init(&server->read,
					     gale_tcp_stream_reader(&server->stream),
					     server->length, 2);
		}
		int rc = dns_server_query_poll(server, cx);
		if (rc == GALE_E_UNEXPECTED_EOF || rc == -ECONNRESET) {
			/* c-ares closed its connection: wait for the next one. */
			(void)gale_tcp_stream_close(&server->stream);
			server->is_connected = false;
		} else if (rc != 0) {
			return rc;
		}
	}
}

static void dns_server_start(struct fixture *f, struct dns_server *server,
			     struct gale_task_handle *handle_out)
{
	memset(server, 0, sizeof(*server));
	assert_int_equal(gale_tcp_listener_bind_text(&server->listener, &f->runtime,
						     "127.0.0.1:0", 0), 0);
	struct gale_socket_addr addr;
	assert_int_equal(gale_tcp_listener_local_addr(&server->listener, &addr), 0);
	snprintf(f->servers, sizeof(f->servers), "127.0.0.1:%u", gale_socket_addr_port(&addr));
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, dns_server_poll, server,
					     handle_out), 0);
}

static void dns_server_stop(struct fixture *f, struct dns_server *server,
			    struct gale_task_handle handle)
{
	(void)gale_executor_abort(&f->runtime.executor, handle);
	int result;
	(void)gale_executor_try_join(&f->runtime.executor, handle, &result);
	if (server->is_connected)
		(void)gale_tcp_stream_close(&server->stream);
	(void)gale_tcp_listener_close(&server->listener);
}

struct connect_task {
	struct gale_tcp_connect_host future; /* By name. */
	struct gale_tcp_stream stream;       /* Filled on success. */
	int result;                          /* The poll's result. */
	bool is_done;                        /* Completed. */
};

static int connect_task_poll(void *data, struct gale_cx *cx)
{
	struct connect_task *task = data;
	int rc = gale_tcp_connect_host_poll(&task->future, cx, &task->stream);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	task->result = rc;
	task->is_done = true;
	return 0;
}

/* Runs a connect by name to completion (the DNS server runs beside it). */
static void connect_by_name(struct fixture *f, struct connect_task *task, const char *text)
{
	memset(task, 0, sizeof(*task));
	gale_tcp_connect_host_init(&task->future, &f->runtime, text);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, connect_task_poll, task,
					     &handle), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&f->runtime, handle, &result), 0);
	assert_true(task->is_done);
}

static void dns_answers_connect_by_name_and_unknown_names_fail(void **state)
{
	struct fixture *f = *state;
	struct dns_server server;
	struct gale_task_handle server_handle;
	dns_server_start(f, &server, &server_handle);
	struct gale_resolver_ares_options options = {
		.servers = f->servers, .timeout_ms = 5000, .tries = 1, .use_tcp = true};
	resolver_start(f, &options);
	/* A listener for the known name's address. */
	struct gale_tcp_listener target;
	assert_int_equal(gale_tcp_listener_bind_text(&target, &f->runtime, "127.0.0.1:0", 0), 0);
	struct gale_socket_addr target_addr;
	assert_int_equal(gale_tcp_listener_local_addr(&target, &target_addr), 0);
	char text[64];
	snprintf(text, sizeof(text), DNS_NAME_KNOWN ":%u", gale_socket_addr_port(&target_addr));
	struct connect_task task;
	connect_by_name(f, &task, text);
	assert_int_equal(task.result, 0);
	struct gale_socket_addr peer;
	assert_int_equal(gale_tcp_stream_peer_addr(&task.stream, &peer), 0);
	assert_true(gale_socket_addr_is_equal(&peer, &target_addr));
	assert_int_equal(gale_tcp_stream_close(&task.stream), 0);
	gale_tcp_connect_host_deinit(&task.future);
	/* An unknown name: NXDOMAIN, and the message names it. */
	connect_by_name(f, &task, "nowhere.gale-test:80");
	assert_int_equal(task.result, GALE_E_RESOLVE_NOT_FOUND);
	char message[256];
	gale_tcp_connect_host_describe(&task.future, task.result, message, sizeof(message));
	assert_string_equal(message, "resolving \"nowhere.gale-test\": host name not found");
	gale_tcp_connect_host_deinit(&task.future);
	assert_true(server.queries >= 2);
	dns_server_stop(f, &server, server_handle);
	assert_int_equal(gale_tcp_listener_close(&target), 0);
	gale_runtime_resolver_set(&f->runtime, NULL);
	gale_resolver_deinit(&f->resolver.base);
	f->resolver_live = false;
}

/* "localhost" from /etc/hosts as c-ares reads it: bind by name, connect by name. */
struct bind_task {
	struct gale_tcp_bind_host future; /* By name. */
	int result;                       /* Its result. */
};

static int bind_task_poll(void *data, struct gale_cx *cx)
{
	struct bind_task *task = data;
	int rc = gale_tcp_bind_host_poll(&task->future, cx);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	task->result = rc;
	return 0;
}

static void localhost_binds_and_connects_by_name(void **state)
{
	struct fixture *f = *state;
	resolver_start(f, NULL);
	struct gale_tcp_listener listener;
	struct bind_task bind = {.result = 1};
	gale_tcp_bind_host_init(&bind.future, &listener, &f->runtime, "localhost:0", 0);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, bind_task_poll, &bind,
					     &handle), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&f->runtime, handle, &result), 0);
	assert_int_equal(bind.result, 0);
	gale_tcp_bind_host_deinit(&bind.future);
	struct gale_socket_addr addr;
	assert_int_equal(gale_tcp_listener_local_addr(&listener, &addr), 0);
	char text[64];
	snprintf(text, sizeof(text), "localhost:%u", gale_socket_addr_port(&addr));
	struct connect_task task;
	connect_by_name(f, &task, text);
	assert_int_equal(task.result, 0);
	assert_int_equal(gale_tcp_stream_close(&task.stream), 0);
	gale_tcp_connect_host_deinit(&task.future);
	assert_int_equal(gale_tcp_listener_close(&listener), 0);
	/* Literals never reach the resolver; bad text is -EINVAL. */
	connect_by_name(f, &task, "[::1");
	assert_int_equal(task.result, -EINVAL);
	gale_tcp_connect_host_deinit(&task.future);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(silent_server_times_out_while_other_tasks_run,
						setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_in_flight_ends_the_query_and_leaks_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(deinit_after_cancel_frees_what_c_ares_held, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dns_answers_connect_by_name_and_unknown_names_fail,
						setup, teardown),
		cmocka_unit_test_setup_teardown(localhost_binds_and_connects_by_name, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
