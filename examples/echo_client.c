/* SPDX-License-Identifier: MIT */
/*
 * echo_client: sends text to an echo server and prints what comes back (public API only).
 *
 *   echo_client HOST:PORT [TEXT...]
 *
 * HOST is a name (resolved with c-ares: /etc/hosts, then DNS), an IPv4 literal or a
 * bracketed IPv6 one; every address the name has is tried in order.
 * With TEXT, the words joined by spaces plus a newline are one message; without, every
 * line of stdin is a message. Each message is written with write_all and its echo read
 * back with read_exact (exactly as many bytes as were sent), then printed to stdout. At the
 * end the client shuts its write side down and expects the server's end of stream. The
 * exit status is 0 only if every echo matched byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/resolve.h>
#include <gale/resolver_ares.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#define ECHO_LINE_MAX 65536

/* One message out, its echo back; or (shutdown) the write side down, then EOF in. */
struct echo_exchange {
	struct gale_tcp_stream *stream;      /* Borrowed. */
	const char *message;                 /* Borrowed. */
	size_t len;                          /* Its length. */
	char *echo;                          /* len bytes of room for the echo. */
	bool is_final;                       /* Shut down and wait for EOF instead. */
	int stage;                           /* 0 start, 1 writing, 2 reading. */
	struct gale_write_all write_all;     /* Stage 1. */
	struct gale_read_exact read_exact;   /* Stage 2. */
	struct gale_write_shutdown shutdown; /* Stage 1 when final. */
};

static int echo_exchange_final_poll(struct echo_exchange *exchange, struct gale_cx *cx)
{
	if (exchange->stage == 0) {
		gale_write_shutdown_init(&exchange->shutdown,
					 gale_tcp_stream_writer(exchange->stream));
		exchange->stage = 1;
	}
	if (exchange->stage == 1) {
		int rc = gale_write_shutdown_poll(&exchange->shutdown, cx);
		if (rc != 0)
			return rc;
		exchange->stage = 2;
	}
	char extra;
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, &extra, 1);
	int rc = gale_tcp_stream_poll_read(exchange->stream, cx, &rb);
	if (rc != 0)
		return rc;
	return rb.len_filled == 0 ? 0 : -EPROTO;
}

static int echo_exchange_poll(void *data, struct gale_cx *cx)
{
	struct echo_exchange *exchange = data;
	if (exchange->is_final)
		return echo_exchange_final_poll(exchange, cx);
	if (exchange->stage == 0) {
		gale_write_all_init(&exchange->write_all, gale_tcp_stream_writer(exchange->stream),
				    exchange->message, exchange->len);
		gale_read_exact_init(&exchange->read_exact,
				     gale_tcp_stream_reader(exchange->stream), exchange->echo,
				     exchange->len);
		exchange->stage = 1;
	}
	if (exchange->stage == 1) {
		int rc = gale_write_all_poll(&exchange->write_all, cx);
		if (rc != 0)
			return rc;
		exchange->stage = 2;
	}
	return gale_read_exact_poll(&exchange->read_exact, cx);
}

static int echo_client_run_one(struct gale_runtime *runtime, struct echo_exchange *exchange)
{
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&runtime->executor, echo_exchange_poll, exchange, &handle);
	if (rc < 0)
		return rc;
	int result = 0;
	rc = gale_runtime_block_on(runtime, handle, &result);
	return rc < 0 ? rc : result;
}

/* Sends one message and prints its echo; -EPROTO when the echo differs. */
static int echo_client_send(struct gale_runtime *runtime, struct gale_tcp_stream *stream,
			    const char *message, char *echo)
{
	struct echo_exchange exchange = {.stream = stream, .message = message,
					 .len = strlen(message), .echo = echo};
	int rc = echo_client_run_one(runtime, &exchange);
	if (rc < 0)
		return rc;
	fwrite(echo, 1, exchange.len, stdout);
	fflush(stdout);
	return memcmp(echo, message, exchange.len) == 0 ? 0 : -EPROTO;
}

struct connect_task {
	struct gale_tcp_connect_host future; /* Resolve the name, then connect. */
	struct gale_tcp_stream *stream;      /* Filled. */
};

static int connect_task_poll(void *data, struct gale_cx *cx)
{
	struct connect_task *task = data;
	return gale_tcp_connect_host_poll(&task->future, cx, task->stream);
}

/* Connects to "host:port" (a name, an IPv4 literal or "[v6]"); on failure prints which
 * name or address failed and why. */
static int echo_client_connect(struct gale_runtime *runtime, const char *addr_text,
			       struct gale_tcp_stream *stream_out)
{
	struct connect_task task = {.stream = stream_out};
	gale_tcp_connect_host_init(&task.future, runtime, addr_text);
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&runtime->executor, connect_task_poll, &task, &handle);
	int result = rc;
	if (rc == 0)
		rc = gale_runtime_block_on(runtime, handle, &result);
	if (rc == 0 && result < 0) {
		char message[512];
		(void)gale_tcp_connect_host_describe(&task.future, result, message,
						     sizeof(message));
		fprintf(stderr, "echo_client: %s\n", message);
	} else if (rc < 0) {
		fprintf(stderr, "echo_client: connect %s: %s\n", addr_text, gale_strerror(rc));
	}
	gale_tcp_connect_host_deinit(&task.future);
	return rc < 0 ? rc : result;
}

/* The messages: argv words joined into one line, or stdin line by line. */
static int echo_client_messages(struct gale_runtime *runtime, struct gale_tcp_stream *stream,
				int argc, char **argv, char *line, char *echo)
{
	int rc = 0;
	if (argc > 2) {
		line[0] = '\0';
		for (int i = 2; i < argc; i++) {
			if (strlen(line) + strlen(argv[i]) + 2 >= ECHO_LINE_MAX)
				return -E2BIG;
			strcat(line, argv[i]);
			strcat(line, i + 1 < argc ? " " : "\n");
		}
		return echo_client_send(runtime, stream, line, echo);
	}
	while (rc == 0 && fgets(line, ECHO_LINE_MAX, stdin) != NULL)
		rc = echo_client_send(runtime, stream, line, echo);
	return rc;
}

static int echo_client_run(struct gale_runtime *runtime, int argc, char **argv)
{
	struct gale_tcp_stream stream;
	int rc = echo_client_connect(runtime, argv[1], &stream);
	if (rc < 0)
		return rc;
	char *line = malloc(ECHO_LINE_MAX);
	char *echo = malloc(ECHO_LINE_MAX);
	rc = line != NULL && echo != NULL ? 0 : -ENOMEM;
	if (rc == 0)
		rc = echo_client_messages(runtime, &stream, argc, argv, line, echo);
	if (rc == 0) {
		struct echo_exchange final = {.stream = &stream, .is_final = true};
		rc = echo_client_run_one(runtime, &final);
	}
	if (rc < 0)
		fprintf(stderr, "echo_client: %s\n", gale_strerror(rc));
	free(echo);
	free(line);
	(void)gale_tcp_stream_close(&stream);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ADDR [TEXT...]\n", argv[0]);
		return 2;
	}
	struct gale_driver_native driver;
	int rc = gale_driver_native_init(&driver);
	if (rc < 0) {
		fprintf(stderr, "echo_client: driver: %s\n", gale_strerror(rc));
		return 1;
	}
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc == 0) {
		/* Names resolve through c-ares (/etc/hosts, then resolv.conf's servers). */
		struct gale_resolver_ares resolver;
		rc = gale_resolver_ares_init(&resolver, &runtime, NULL);
		if (rc == 0) {
			gale_runtime_resolver_set(&runtime, &resolver.base);
			rc = echo_client_run(&runtime, argc, argv);
			gale_runtime_resolver_set(&runtime, NULL);
			gale_resolver_deinit(&resolver.base);
		} else {
			fprintf(stderr, "echo_client: resolver: %s\n", gale_strerror(rc));
		}
		int rc_deinit = gale_runtime_deinit(&runtime);
		rc = rc < 0 ? rc : rc_deinit;
	}
	gale_driver_deinit(&driver.base);
	return rc < 0 ? 1 : 0;
}
