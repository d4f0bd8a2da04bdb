/* SPDX-License-Identifier: MIT */
/*
 * echo_server: a TCP echo server on gale's TcpListener and TcpStream (public API only).
 *
 *   echo_server [ADDR] [--max-clients N]
 *
 * ADDR is "ip:port" or "[ipv6]:port" (default 127.0.0.1:7000; port 0 picks a free port).
 * It prints "listening on ADDR" (the real port) on stdout, then serves every client in its
 * own task: gale_copy from the stream's reader to its writer until the client shuts its
 * side down, then shuts down its own side and closes. With --max-clients N it stops
 * accepting after N clients and exits 0 once they are all served.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#define ECHO_BUF_SIZE 16384

/* One client: its stream and the copy that echoes it. Heap-allocated, freed by its task. */
struct echo_connection {
	struct gale_tcp_stream stream;       /* The accepted stream (owned). */
	struct gale_socket_addr peer;        /* The client's address. */
	struct gale_copy copy;               /* reader -> writer until EOF. */
	struct gale_write_shutdown shutdown; /* Then our write side ends. */
	int stage;                           /* 0 start, 1 copying, 2 shutting down. */
	uint8_t buf[ECHO_BUF_SIZE];          /* Copy buffer. */
};

struct echo_acceptor {
	struct gale_runtime *runtime;       /* Borrowed. */
	struct gale_tcp_listener *listener; /* Borrowed; closed when the limit is reached. */
	uint64_t max_clients;               /* 0: no limit. */
	uint64_t clients_count;             /* Accepted so far. */
	struct echo_connection *next;       /* Allocated ahead for the next accept. */
};

static void echo_connection_finish(struct echo_connection *connection, int rc)
{
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	if (gale_socket_addr_format(&connection->peer, text, sizeof(text)) < 0)
		strcpy(text, "?");
	if (rc == 0)
		fprintf(stderr, "%s: %" PRIu64 " bytes echoed\n", text,
			connection->copy.len_copied);
	else
		fprintf(stderr, "%s: %s\n", text, gale_strerror(rc));
	(void)gale_tcp_stream_close(&connection->stream);
	free(connection);
}

static int echo_connection_poll(void *data, struct gale_cx *cx)
{
	struct echo_connection *connection = data;
	int rc = 0;
	if (connection->stage == 0) {
		gale_copy_init(&connection->copy, gale_tcp_stream_reader(&connection->stream),
			       gale_tcp_stream_writer(&connection->stream), connection->buf,
			       sizeof(connection->buf));
		connection->stage = 1;
	}
	if (connection->stage == 1) {
		rc = gale_copy_poll(&connection->copy, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0) {
			gale_write_shutdown_init(&connection->shutdown,
					   gale_tcp_stream_writer(&connection->stream));
			connection->stage = 2;
		}
	}
	if (connection->stage == 2) {
		rc = gale_write_shutdown_poll(&connection->shutdown, cx);
		if (rc == GALE_PENDING)
			return rc;
	}
	/* The task's data is freed here; the executor never touches it after this poll. */
	echo_connection_finish(connection, rc);
	return 0;
}

/* Spawns the task of a connection just accepted into acceptor->next. */
static int echo_acceptor_start(struct echo_acceptor *acceptor)
{
	struct echo_connection *connection = acceptor->next;
	acceptor->next = NULL;
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&acceptor->runtime->executor, echo_connection_poll, connection,
				     &handle);
	if (rc < 0) {
		echo_connection_finish(connection, rc);
		return 0;
	}
	acceptor->clients_count++;
	return gale_executor_detach(&acceptor->runtime->executor, handle);
}

static int echo_acceptor_poll(void *data, struct gale_cx *cx)
{
	struct echo_acceptor *acceptor = data;
	for (;;) {
		if (acceptor->max_clients != 0 && acceptor->clients_count == acceptor->max_clients)
			break;
		if (acceptor->next == NULL)
			acceptor->next = calloc(1, sizeof(*acceptor->next));
		if (acceptor->next == NULL)
			return -ENOMEM;
		struct echo_connection *next = acceptor->next;
		int rc = gale_tcp_listener_poll_accept(acceptor->listener, cx, &next->stream,
						       &next->peer);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == -ENOSPC) /* Too many connections registered: that one was dropped. */
			continue;
		if (rc < 0)
			break;
		rc = echo_acceptor_start(acceptor);
		if (rc < 0)
			break;
	}
	free(acceptor->next);
	acceptor->next = NULL;
	(void)gale_tcp_listener_close(acceptor->listener);
	return 0;
}

static int echo_server_parse(int argc, char **argv, const char **addr_out, uint64_t *max_out)
{
	*addr_out = "127.0.0.1:7000";
	*max_out = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--max-clients") == 0 && i + 1 < argc) {
			char *end = NULL;
			*max_out = strtoull(argv[++i], &end, 10);
			if (end == argv[i] || *end != '\0')
				return -EINVAL;
		} else if (argv[i][0] != '-') {
			*addr_out = argv[i];
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int echo_server_run(struct gale_runtime *runtime, const char *addr_text,
			   uint64_t max_clients)
{
	struct gale_tcp_listener listener;
	int rc = gale_tcp_listener_bind_text(&listener, runtime, addr_text, 0);
	if (rc < 0) {
		fprintf(stderr, "echo_server: bind %s: %s\n", addr_text, gale_strerror(rc));
		return rc;
	}
	struct gale_socket_addr local;
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	if (gale_tcp_listener_local_addr(&listener, &local) == 0 &&
	    gale_socket_addr_format(&local, text, sizeof(text)) > 0)
		printf("listening on %s\n", text);
	fflush(stdout);
	struct echo_acceptor acceptor = {.runtime = runtime, .listener = &listener,
					 .max_clients = max_clients};
	struct gale_task_handle handle;
	rc = gale_executor_spawn(&runtime->executor, echo_acceptor_poll, &acceptor, &handle);
	if (rc == 0)
		rc = gale_executor_detach(&runtime->executor, handle);
	if (rc == 0)
		rc = gale_runtime_run(runtime);
	if (gale_tcp_listener_fd(&listener) >= 0)
		(void)gale_tcp_listener_close(&listener);
	if (rc < 0)
		fprintf(stderr, "echo_server: %s\n", gale_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	const char *addr_text;
	uint64_t max_clients;
	if (echo_server_parse(argc, argv, &addr_text, &max_clients) < 0) {
		fprintf(stderr, "usage: %s [ADDR] [--max-clients N]\n", argv[0]);
		return 2;
	}
	struct gale_driver_epoll driver;
	int rc = gale_driver_epoll_init(&driver);
	if (rc < 0) {
		fprintf(stderr, "echo_server: epoll: %s\n", gale_strerror(rc));
		return 1;
	}
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc == 0) {
		rc = echo_server_run(&runtime, addr_text, max_clients);
		int rc_deinit = gale_runtime_deinit(&runtime);
		rc = rc < 0 ? rc : rc_deinit;
	}
	gale_driver_epoll_deinit(&driver);
	return rc < 0 ? 1 : 0;
}
