/* SPDX-License-Identifier: MIT */
/*
 * kv_cli: a command-line client of kv_server, on the real kernel (kv_client.c over the
 * native driver: epoll on Linux).
 *
 *   kv_cli ADDR COMMAND...      COMMAND: put KEY VALUE | get KEY | del KEY
 *
 * Runs the commands in order on one connection and prints one line per answer: the value
 * for a GET that found its key, else the status (OK, NOT_FOUND, ...). Exit status 0 when
 * every command got an answer, 1 on a connection or protocol error, 2 on bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>

#include "kv_client.h"

struct cli {
	struct gale_socket_addr addr; /* The server. */
	char **args;                  /* The commands' words. */
	int args_count;               /* How many. */
	int arg;                      /* The next command's first word. */
	bool is_connected;            /* connect completed. */
	bool is_in_request;           /* request holds a command. */
	struct kv_client client;      /* The connection. */
	struct kv_connect connect;    /* Makes it. */
	struct kv_request request;    /* The command under way. */
	char value[KV_VALUE_MAX + 1]; /* A GET's answer. */
};

/* The words each command takes, counting its name; 0 for an unknown command. */
static int command_words(const char *name)
{
	if (strcmp(name, "put") == 0)
		return 3;
	if (strcmp(name, "get") == 0 || strcmp(name, "del") == 0)
		return 2;
	return 0;
}

static void command_start(struct cli *cli)
{
	char **word = cli->args + cli->arg;
	if (word[0][0] == 'p')
		kv_put_init(&cli->request, &cli->client, word[1], strlen(word[1]), word[2],
			    strlen(word[2]));
	else if (word[0][0] == 'g')
		kv_get_init(&cli->request, &cli->client, word[1], strlen(word[1]), cli->value,
			    KV_VALUE_MAX);
	else
		kv_del_init(&cli->request, &cli->client, word[1], strlen(word[1]));
	cli->is_in_request = true;
}

static void answer_print(struct cli *cli)
{
	const struct kv_request *answer = &cli->request;
	if (cli->args[cli->arg][0] == 'g' && answer->status == KV_STATUS_OK)
		printf("%.*s\n", (int)answer->value_len, cli->value);
	else
		printf("%s\n", kv_status_name(answer->status));
	fflush(stdout);
}

static int cli_poll(void *data, struct gale_cx *cx)
{
	struct cli *cli = data;
	if (!cli->is_connected) {
		int rc = kv_connect_poll(&cli->connect, cx);
		if (rc != 0)
			return rc;
		kv_connect_deinit(&cli->connect);
		cli->is_connected = true;
	}
	while (cli->arg < cli->args_count) {
		if (!cli->is_in_request)
			command_start(cli);
		int rc = kv_request_poll(&cli->request, cx);
		if (rc != 0)
			return rc;
		cli->is_in_request = false;
		answer_print(cli);
		cli->arg += command_words(cli->args[cli->arg]);
	}
	return kv_client_close(&cli->client);
}

static int cli_run(struct cli *cli)
{
	struct gale_driver_native driver;
	int rc = gale_driver_native_init(&driver);
	if (rc < 0)
		return rc;
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc == 0) {
		kv_connect_init(&cli->connect, &cli->client, &runtime, &cli->addr);
		struct gale_task_handle handle;
		int result = 0;
		rc = gale_executor_spawn(&runtime.executor, cli_poll, cli, &handle);
		if (rc == 0)
			rc = gale_runtime_block_on(&runtime, handle, &result);
		if (rc == 0)
			rc = result;
		kv_connect_deinit(&cli->connect);
		(void)kv_client_close(&cli->client);
		int rc_deinit = gale_runtime_deinit(&runtime);
		rc = rc < 0 ? rc : rc_deinit;
	}
	gale_driver_deinit(&driver.base);
	return rc;
}

int main(int argc, char **argv)
{
	static struct cli cli; /* Large (a GET's buffer): not on the stack. */
	bool ok = argc >= 3 && gale_socket_addr_parse(argv[1], &cli.addr) == 0;
	for (int i = 2; ok && i < argc;) {
		int words = command_words(argv[i]);
		ok = words > 0 && i + words <= argc;
		i += words;
	}
	if (!ok) {
		fprintf(stderr, "usage: %s ADDR (put KEY VALUE | get KEY | del KEY)...\n", argv[0]);
		return 2;
	}
	cli.args = argv + 2;
	cli.args_count = argc - 2;
	int rc = cli_run(&cli);
	if (rc < 0) {
		fprintf(stderr, "kv_cli: %s\n", gale_strerror(rc));
		return 1;
	}
	return 0;
}
