/* SPDX-License-Identifier: MIT */
/*
 * echo_server: a TCP echo server on gale's TcpListener and TcpStream (public API only).
 *
 *   echo_server [ADDR] [--max-clients N]
 *
 * ADDR is "ip:port" or "[ipv6]:port" (default 127.0.0.1:7000; port 0 picks a free port).
 * It prints "listening on ADDR" (the real port) on stdout, then serves every client in its
 * own task (echo_service.c: gale_copy from the stream's reader to its writer until the
 * client shuts its side down, then shuts down its own side and closes; the same code runs
 * on the simulator in tests/sim/test_sim_echo_example.c). With --max-clients N it stops
 * accepting after N clients and exits 0 once they are all served.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "echo_service.h"

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
					 .max_clients = max_clients, .log = stderr};
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
	struct gale_driver_native driver;
	int rc = gale_driver_native_init(&driver);
	if (rc < 0) {
		fprintf(stderr, "echo_server: driver: %s\n", gale_strerror(rc));
		return 1;
	}
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc == 0) {
		rc = echo_server_run(&runtime, addr_text, max_clients);
		int rc_deinit = gale_runtime_deinit(&runtime);
		rc = rc < 0 ? rc : rc_deinit;
	}
	gale_driver_deinit(&driver.base);
	return rc < 0 ? 1 : 0;
}
