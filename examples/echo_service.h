/* SPDX-License-Identifier: MIT */
/* The echo service shared by examples/echo_server.c and the simulator test of it. */
#ifndef GALE_EXAMPLES_ECHO_SERVICE_H
#define GALE_EXAMPLES_ECHO_SERVICE_H

#include <stdint.h>
#include <stdio.h>

#include <gale/rt.h>
#include <gale/tcp.h>

struct echo_connection;

/* The acceptor task's state: spawn echo_acceptor_poll with it (detached or joined). */
struct echo_acceptor {
	struct gale_runtime *runtime;       /* Borrowed. */
	struct gale_tcp_listener *listener; /* Borrowed; closed when the limit is reached. */
	uint64_t max_clients;               /* 0: no limit. */
	FILE *log;                          /* One line per finished client; NULL: silent. */
	uint64_t clients_count;             /* Accepted so far. */
	uint64_t connections_done;          /* Client tasks finished. */
	uint64_t bytes_echoed;              /* Bytes copied back, all clients. */
	uint64_t errors_count;              /* Client tasks that ended with an error. */
	uint64_t refused_count;             /* Connections refused: the runtime's explicit
					     * registrations_max was reached (logged). */
	struct echo_connection *next;       /* Allocated ahead for the next accept. */
};

/*
 * Accepts until max_clients (or the listener fails), spawning one detached task per
 * client; then closes the listener and returns 0. Client tasks may outlive it.
 */
int echo_acceptor_poll(void *data, struct gale_cx *cx);

#endif /* GALE_EXAMPLES_ECHO_SERVICE_H */
