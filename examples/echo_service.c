/* SPDX-License-Identifier: MIT */
/*
 * The echo service behind examples/echo_server: an acceptor task that spawns one task per
 * client, each echoing with gale_copy until the client shuts its side down. It uses only
 * the public API and whatever driver the runtime has, so the very same code serves real
 * sockets in echo_server and simulated ones in tests/sim/test_sim_echo_example.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/error.h>
#include <gale/write_all.h>

#include "echo_service.h"

#define ECHO_BUF_SIZE 16384

/* One client: its stream and the copy that echoes it. Heap-allocated, freed by its task. */
struct echo_connection {
	struct gale_tcp_stream stream;       /* The accepted stream (owned). */
	struct gale_socket_addr peer;        /* The client's address. */
	struct gale_copy copy;               /* reader -> writer until EOF. */
	struct gale_write_shutdown shutdown; /* Then our write side ends. */
	struct echo_acceptor *acceptor;      /* Who accepted it (log, counters). */
	int stage;                           /* 0 start, 1 copying, 2 shutting down. */
	uint8_t buf[ECHO_BUF_SIZE];          /* Copy buffer. */
};

static void echo_connection_finish(struct echo_connection *connection, int rc)
{
	struct echo_acceptor *acceptor = connection->acceptor;
	acceptor->bytes_echoed += connection->copy.len_copied;
	acceptor->connections_done++;
	acceptor->errors_count += rc != 0;
	(void)gale_tcp_stream_close(&connection->stream);
	if (acceptor->log == NULL) {
		free(connection);
		return;
	}
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	if (gale_socket_addr_format(&connection->peer, text, sizeof(text)) < 0)
		strcpy(text, "?");
	if (rc == 0)
		fprintf(acceptor->log, "%s: %" PRIu64 " bytes echoed\n", text,
			connection->copy.len_copied);
	else
		fprintf(acceptor->log, "%s: %s\n", text, gale_strerror(rc));
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

int echo_acceptor_poll(void *data, struct gale_cx *cx)
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
		next->acceptor = acceptor;
		int rc = gale_tcp_listener_poll_accept(acceptor->listener, cx, &next->stream,
						       &next->peer);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == -ENOSPC) {
			/* Only an explicit registrations_max refuses (the reactor grows by
			 * default): the listener closed that connection; say so, go on. */
			acceptor->refused_count++;
			if (acceptor->log != NULL)
				fprintf(acceptor->log, "connection refused: registrations_max "
					"reached (%" PRIu64 " so far)\n", acceptor->refused_count);
			continue;
		}
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

