/* SPDX-License-Identifier: MIT */
/*
 * kv_server: the kv service (kv_server.c) on the real kernel, through gale's native driver
 * (epoll on Linux).
 *
 *   kv_server [ADDR] [--max-clients N]
 *
 * ADDR is "ip:port" or "[ipv6]:port" (default 127.0.0.1:7700; port 0 picks a free port).
 * It prints "listening on ADDR" (the real port) on stdout, then serves each client in its
 * own task, logging one line per finished client on stderr. With --max-clients N it stops
 * accepting after N clients and exits 0 once they have all left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>

#include "kv_server.h"

static int parse_args(int argc, char **argv, const char **addr_out, uint64_t *max_out)
{
	*addr_out = "127.0.0.1:7700";
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

static int serve(struct gale_runtime *runtime, const char *addr_text, uint64_t max_clients)
{
	struct gale_socket_addr addr;
	int rc = gale_socket_addr_parse(addr_text, &addr);
	struct kv_server server;
	memset(&server, 0, sizeof(server)); /* deinit is a no-op on it if init never runs. */
	struct kv_server_options options = {.runtime = runtime, .addr = &addr,
					    .max_clients = max_clients, .log = stderr};
	if (rc == 0)
		rc = kv_server_init(&server, &options);
	if (rc < 0) {
		fprintf(stderr, "kv_server: listen on %s: %s\n", addr_text, gale_strerror(rc));
		kv_server_deinit(&server); /* Nothing to release: safe anyway. */
		return rc;
	}
	struct gale_socket_addr local;
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	if (kv_server_local_addr(&server, &local) == 0 &&
	    gale_socket_addr_format(&local, text, sizeof(text)) > 0)
		printf("listening on %s\n", text);
	fflush(stdout);
	struct gale_task_handle handle;
	rc = gale_executor_spawn(&runtime->executor, kv_server_acceptor_poll, &server, &handle);
	int result = 0;
	if (rc == 0)
		rc = gale_runtime_block_on(runtime, handle, &result); /* The acceptor... */
	if (rc == 0)
		rc = gale_runtime_run(runtime); /* ...then the sessions still running. */
	if (rc == 0)
		rc = result;
	if (rc < 0)
		fprintf(stderr, "kv_server: %s\n", gale_strerror(rc));
	kv_server_deinit(&server);
	return rc;
}

int main(int argc, char **argv)
{
	const char *addr_text;
	uint64_t max_clients;
	if (parse_args(argc, argv, &addr_text, &max_clients) < 0) {
		fprintf(stderr, "usage: %s [ADDR] [--max-clients N]\n", argv[0]);
		return 2;
	}
	struct gale_driver_native driver;
	int rc = gale_driver_native_init(&driver);
	if (rc < 0) {
		fprintf(stderr, "kv_server: driver: %s\n", gale_strerror(rc));
		return 1;
	}
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc == 0) {
		rc = serve(&runtime, addr_text, max_clients);
		int rc_deinit = gale_runtime_deinit(&runtime);
		rc = rc < 0 ? rc : rc_deinit;
	}
	gale_driver_deinit(&driver.base);
	return rc < 0 ? 1 : 0;
}
