/* SPDX-License-Identifier: MIT */
/*
 * The kv service (kv_server.c, unchanged) and its client (kv_client.c) on gale's simulator,
 * under every oracle, as scenarios for kv_tests (gale_main) and kv_fuzz (GALE_FUZZ_TARGET).
 *
 * The world: a server on host 10.0.9.1:7700 (the service's own acceptor and sessions,
 * spawned through its spawn hook so the runner names and joins them) and 1..4 clients on
 * host 10.0.9.2. Each client runs one operation at a time (actor_run): it connects when
 * it has no connection, sends the request, reads the response, and obeys THE RULE of
 * <gale/scenario_kit.h>: an error an injected fault explains (a reset, a refused connect,
 * NO_MEMORY after an allocation failure) is survived by reconnecting and sending the
 * operation again; an error no fault explains fails the run (oracle CHECK).
 *
 *   kv_put_get     1..4 clients, each with 1..16 keys of its own: PUT every key (0..600
 *                  seeded bytes), GET each back, DEL a drawn subset, GET those (NOT_FOUND)
 *                  and a key never written. The check: every answer as expected, and the
 *                  server's store holds exactly the keys not deleted, with their values.
 *   kv_concurrent  2..4 clients share 1..6 keys: each makes 1..12 rounds of PUT (a value
 *                  that names its writer, its round and its key) then GET of drawn keys.
 *                  Every answer is checked against the order of events (a logical clock
 *                  ticked at each request sent and each answer received): a GET returns a
 *                  value some client PUT for that key, never one overwritten by a PUT that
 *                  began after it was acknowledged and was acknowledged before the GET
 *                  was sent, and never NOT_FOUND after a PUT of the key was acknowledged;
 *                  the final store holds, per key, a value no later PUT superseded.
 *
 * A request retried after a broken connection may have been applied once already; the
 * checks allow for it (a DEL retried may answer NOT_FOUND; order checks use the last
 * acknowledged attempt). Every byte goes through the runner's driver and every
 * allocation of the service through the runtime's allocator (the runner's counting one),
 * so the stream, readiness and leak oracles watch the service too.
 * Reproduce a failure: kv_tests replay --scenario NAME --seed N --profile P --verbose.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/scenario_kit.h>
#include <gale/socket_addr.h>

#include "kv_client.h"
#include "kv_scenarios.h"
#include "kv_server.h"

#define KV_HOST_CLIENTS "10.0.9.2"
#define KV_HOST_SERVER "10.0.9.1"
#define KV_PORT 7700
#define KV_CLIENTS_MAX 4
#define KV_TEST_KEY_MAX 32
#define KV_TEST_VALUE_MAX 600

/* ---- The world and its clients ("actors") ---------------------------------------------- */

struct kv_world {
	struct gale_scenario_run *run;       /* Borrowed. */
	struct gale_socket_addr server_addr; /* Where the server listens. */
	struct kv_server server;             /* The service under test. */
	uint32_t clients_count;              /* Clients this seed. */
	uint32_t clients_done;               /* Finished (the last one stops the server). */
	uint64_t clock;                      /* Logical clock: ticks at each send and answer. */
};

/* A client that runs one operation at a time, reconnecting and retrying as THE RULE says. */
struct kv_actor {
	struct kv_world *world;               /* Borrowed. */
	uint32_t index;                       /* Which client. */
	bool is_done;                         /* Finished. */
	bool is_connecting;                   /* connect holds an attempt. */
	bool is_in_request;                   /* request is under way. */
	struct kv_client client;              /* The connection (reopened after a break). */
	struct kv_connect connect;            /* Connects it. */
	struct kv_request request;            /* The current attempt. */
	enum kv_op op;                        /* The current operation... */
	uint8_t key[KV_TEST_KEY_MAX];         /* ...its key... */
	size_t key_len;                       /* ...of this length... */
	uint8_t value[KV_TEST_VALUE_MAX];     /* ...the value a PUT sends... */
	size_t value_len;                     /* ...of this length... */
	uint8_t got[KV_TEST_VALUE_MAX];       /* ...and what a GET received. */
	char what[64];                        /* "client 2 PUT 'c2-k5'", for messages. */
	uint32_t attempts;                    /* Requests sent for this operation. */
	bool has_broken;                      /* A connection broke during this operation. */
	uint64_t last_send;                   /* Clock when the last attempt was sent. */
	uint64_t last_end;                    /* Clock when it ended. */
	uint64_t connects_count;              /* Connects that succeeded (whole run). */
	uint64_t refused_count;               /* Connects refused. */
	uint64_t broken_count;                /* Attempts cut short by a broken connection. */
	uint64_t answers_count;               /* Responses received (NO_MEMORY included). */
};

static const char *const op_names[] = {[KV_OP_PUT] = "PUT", [KV_OP_GET] = "GET",
				       [KV_OP_DEL] = "DEL"};

static int world_spawn(void *spawn_data, const char *name, gale_poll_fn *poll, void *data)
{
	return gale_scenario_spawn(spawn_data, name, poll, data, false, NULL);
}

/* The hosts, the server and its acceptor. */
static int world_setup(struct kv_world *world, struct gale_scenario_run *run)
{
	world->run = run;
	/* The clients' host first: unbound sockets take the first host as their source. */
	int rc = gale_scenario_host_add(run, KV_HOST_CLIENTS);
	if (rc == 0)
		rc = gale_scenario_host_add(run, KV_HOST_SERVER);
	if (rc == 0)
		rc = gale_socket_addr_from_ip(KV_HOST_SERVER, KV_PORT, &world->server_addr);
	if (rc != 0)
		return rc;
	struct kv_server_options options = {
		.runtime = &run->runtime,
		.addr = &world->server_addr,
		.spawn = world_spawn,              /* Named tasks, joined by the runner. */
		.spawn_data = run,
	};
	rc = kv_server_init(&world->server, &options);
	if (rc != 0)
		return rc;
	return gale_scenario_spawn_retry(run, "kv-acceptor", kv_server_acceptor_poll,
					 &world->server, false, NULL);
}

static void actor_init(struct kv_actor *actor, struct kv_world *world, uint32_t index)
{
	actor->world = world;
	actor->index = index;
}

/* The actor is finished: its connection closes; the last one stops the server accepting. */
static void actor_finish(struct kv_actor *actor)
{
	struct kv_world *world = actor->world;
	if (actor->is_connecting)
		kv_connect_deinit(&actor->connect);
	actor->is_connecting = false;
	(void)kv_client_close(&actor->client);
	actor->is_done = true;
	if (++world->clients_done == world->clients_count)
		kv_server_shutdown(&world->server);
}

/* Starts an operation: op on key (text). */
static void actor_op_start(struct kv_actor *actor, enum kv_op op, const char *key)
{
	actor->op = op;
	actor->key_len = strlen(key);
	if (actor->key_len >= sizeof(actor->key))
		actor->key_len = sizeof(actor->key) - 1;
	memcpy(actor->key, key, actor->key_len);
	actor->value_len = 0;
	actor->attempts = 0;
	actor->has_broken = false;
	snprintf(actor->what, sizeof(actor->what), "client %u %s '%.*s'", actor->index,
		 op_names[op], (int)actor->key_len, (const char *)actor->key);
}

static void actor_request_start(struct kv_actor *actor)
{
	struct kv_client *client = &actor->client;
	actor->attempts++;
	actor->is_in_request = true;
	actor->last_send = ++actor->world->clock;
	if (actor->op == KV_OP_PUT)
		kv_put_init(&actor->request, client, actor->key, actor->key_len, actor->value,
			    actor->value_len);
	else if (actor->op == KV_OP_GET)
		kv_get_init(&actor->request, client, actor->key, actor->key_len, actor->got,
			    sizeof(actor->got));
	else
		kv_del_init(&actor->request, client, actor->key, actor->key_len);
}

static int actor_connect(struct kv_actor *actor, struct gale_cx *cx)
{
	struct kv_world *world = actor->world;
	if (!actor->is_connecting) {
		kv_connect_init(&actor->connect, &actor->client, &world->run->runtime,
				&world->server_addr);
		actor->is_connecting = true;
	}
	int rc = kv_connect_poll(&actor->connect, cx);
	if (rc == GALE_PENDING)
		return rc;
	kv_connect_deinit(&actor->connect);
	actor->is_connecting = false;
	if (rc == 0) {
		actor->connects_count++;
		return 0;
	}
	actor->refused_count += rc == -ECONNREFUSED;
	char what[96];
	snprintf(what, sizeof(what), "%s: connecting", actor->what);
	return gale_scenario_survive(world->run, rc, what); /* 0: connect again. */
}

/*
 * Runs the current operation until it gets an answer: 0 (actor->request.status and
 * value_len hold it), GALE_PENDING, or an error no injected fault explains (the run has
 * failed: the task stops). A NO_MEMORY answer is sent again on the same connection, a
 * broken connection is replaced and the request sent again, each only when a fault
 * explains it.
 */
static int actor_run(struct kv_actor *actor, struct gale_cx *cx)
{
	struct gale_scenario_run *run = actor->world->run;
	for (;;) {
		if (gale_scenario_has_failed(run))
			return GALE_E_CANCELED; /* Someone failed the run: stop early. */
		if (!kv_client_is_connected(&actor->client)) {
			int rc = actor_connect(actor, cx);
			if (rc != 0)
				return rc;
			continue;
		}
		if (!actor->is_in_request)
			actor_request_start(actor);
		int rc = kv_request_poll(&actor->request, cx);
		if (rc == GALE_PENDING)
			return rc;
		actor->is_in_request = false;
		actor->last_end = ++actor->world->clock;
		actor->answers_count += rc == 0;
		if (rc == 0 && actor->request.status != KV_STATUS_NO_MEMORY)
			return 0;
		if (rc == 0) {
			rc = -ENOMEM; /* Explained only by an injected allocation failure. */
		} else {
			actor->broken_count++;
			actor->has_broken = true;
			(void)kv_client_close(&actor->client);
		}
		char what[96];
		snprintf(what, sizeof(what), "%s (attempt %u)", actor->what, actor->attempts);
		rc = gale_scenario_survive(run, rc, what);
		if (rc != 0)
			return rc;
	}
}

/* Fails the run for an answer the operation cannot have (what is wrong: detail). */
static void actor_fail(struct kv_actor *actor, const char *scenario, const char *detail)
{
	gale_scenario_fail(actor->world->run, GALE_ORACLE_CHECK, "%s: %s (attempt %u): %s",
			   scenario, actor->what, actor->attempts, detail);
}

/* The answer's status must be want. */
static bool actor_status_is(struct kv_actor *actor, const char *scenario, int want)
{
	if (actor->request.status == want)
		return true;
	char detail[96];
	snprintf(detail, sizeof(detail), "answered %s, want %s (the request was well-formed)",
		 kv_status_name(actor->request.status), kv_status_name(want));
	actor_fail(actor, scenario, detail);
	return false;
}

/* Closes what the actor may have open after a failed run. */
static void actor_teardown(struct kv_actor *actor)
{
	if (actor->is_connecting)
		kv_connect_deinit(&actor->connect);
	actor->is_connecting = false;
	(void)kv_client_close(&actor->client);
}

/* Checks shared by both scenarios: the server saw no malformed request and, when no
 * connection broke, answered exactly the requests the clients got answers to. */
static void world_check(struct kv_world *world, struct kv_actor *const *actors,
			const char *scenario)
{
	struct gale_scenario_run *run = world->run;
	uint64_t answers = 0, broken = 0, connects = 0, refused = 0;
	for (uint32_t i = 0; i < world->clients_count; i++) {
		answers += actors[i]->answers_count;
		broken += actors[i]->broken_count;
		connects += actors[i]->connects_count;
		refused += actors[i]->refused_count;
		if (!actors[i]->is_done)
			gale_scenario_fail(run, GALE_ORACLE_CHECK, "%s: client %u did not finish",
					   scenario, i);
	}
	const struct kv_server_stats *stats = &world->server.stats;
	if (stats->bad_requests_count > 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "%s: the server answered %llu requests BAD_REQUEST, and every "
				   "client sent well-formed ones",
				   scenario, (unsigned long long)stats->bad_requests_count);
	if (broken == 0 && stats->requests_count != answers)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "%s: the clients got %llu answers, the server sent %llu",
				   scenario, (unsigned long long)answers,
				   (unsigned long long)stats->requests_count);
	struct gale_sim_stats sim = gale_scenario_stats(run);
	if (connects != sim.connections_count || refused != sim.connects_refused_count)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "%s: the clients saw %llu connects and %llu refusals, the "
				   "simulator made %llu and refused %llu",
				   scenario, (unsigned long long)connects,
				   (unsigned long long)refused,
				   (unsigned long long)sim.connections_count,
				   (unsigned long long)sim.connects_refused_count);
}

/* ---- kv_put_get ------------------------------------------------------------------------ */

#define PG_KEYS_MAX 16
#define PG_MISSING PG_KEYS_MAX /* The key index of a key never written. */

enum pg_expect {
	PG_EXPECT_OK = 0,    /* PUT, DEL (NOT_FOUND too once a connection broke under it). */
	PG_EXPECT_VALUE,     /* GET: OK and the value PUT. */
	PG_EXPECT_NOT_FOUND, /* GET of a key deleted or never written. */
};

struct pg_step {
	uint8_t op;     /* enum kv_op. */
	uint8_t key;    /* Key index, or PG_MISSING. */
	uint8_t expect; /* enum pg_expect. */
};

struct pg_client {
	struct kv_actor actor;                     /* Runs the steps. */
	uint32_t keys_count;                       /* Its keys. */
	uint16_t value_lens[PG_KEYS_MAX];          /* Each key's value length. */
	bool is_deleted[PG_KEYS_MAX];              /* Deleted in the third phase. */
	struct pg_step steps[4 * PG_KEYS_MAX + 1]; /* The program. */
	uint32_t steps_count;                      /* Its length. */
	uint32_t step;                             /* The step under way. */
	bool is_step_started;                      /* actor holds it. */
};

struct pg_state {
	struct kv_world world;                      /* Server and bookkeeping. */
	struct pg_client clients[KV_CLIENTS_MAX];   /* The clients. */
};

/* Key k's value of client i: value_lens[k] pattern bytes of its own seed. */
static size_t pg_value_fill(const struct pg_client *client, uint32_t k, uint8_t *buf)
{
	uint64_t seed = client->actor.world->run->seed ^ ((uint64_t)client->actor.index << 48) ^
			((uint64_t)(k + 1) << 24);
	gale_scenario_pattern_fill(seed, 0, buf, client->value_lens[k]);
	return client->value_lens[k];
}

static void pg_program(struct pg_client *client)
{
	uint32_t n = 0, k;
	for (k = 0; k < client->keys_count; k++)
		client->steps[n++] = (struct pg_step){KV_OP_PUT, (uint8_t)k, PG_EXPECT_OK};
	for (k = 0; k < client->keys_count; k++)
		client->steps[n++] = (struct pg_step){KV_OP_GET, (uint8_t)k, PG_EXPECT_VALUE};
	for (k = 0; k < client->keys_count; k++)
		if (client->is_deleted[k])
			client->steps[n++] = (struct pg_step){KV_OP_DEL, (uint8_t)k, PG_EXPECT_OK};
	for (k = 0; k < client->keys_count; k++)
		if (client->is_deleted[k])
			client->steps[n++] =
				(struct pg_step){KV_OP_GET, (uint8_t)k, PG_EXPECT_NOT_FOUND};
	client->steps[n++] = (struct pg_step){KV_OP_GET, PG_MISSING, PG_EXPECT_NOT_FOUND};
	client->steps_count = n;
}

static void pg_step_start(struct pg_client *client)
{
	const struct pg_step *step = &client->steps[client->step];
	struct kv_actor *actor = &client->actor;
	char key[KV_TEST_KEY_MAX];
	if (step->key == PG_MISSING)
		snprintf(key, sizeof(key), "c%u-none", actor->index);
	else
		snprintf(key, sizeof(key), "c%u-k%u", actor->index, step->key);
	actor_op_start(actor, step->op, key);
	if (step->op == KV_OP_PUT)
		actor->value_len = pg_value_fill(client, step->key, actor->value);
	client->is_step_started = true;
}

/* The answer to the current step; false (after failing the run) when it is wrong. */
static bool pg_step_check(struct pg_client *client)
{
	const struct pg_step *step = &client->steps[client->step];
	struct kv_actor *actor = &client->actor;
	const struct kv_request *answer = &actor->request;
	if (step->op == KV_OP_DEL && answer->status == KV_STATUS_NOT_FOUND && actor->has_broken)
		return true; /* The attempt that broke had deleted it. */
	if (step->expect == PG_EXPECT_NOT_FOUND)
		return actor_status_is(actor, "kv_put_get", KV_STATUS_NOT_FOUND);
	if (!actor_status_is(actor, "kv_put_get", KV_STATUS_OK))
		return false;
	if (step->expect != PG_EXPECT_VALUE)
		return true;
	uint8_t want[KV_TEST_VALUE_MAX];
	size_t want_len = pg_value_fill(client, step->key, want);
	size_t i = 0;
	while (i < want_len && i < answer->value_len && want[i] == actor->got[i])
		i++;
	if (i == want_len && answer->value_len == want_len)
		return true;
	char detail[128];
	snprintf(detail, sizeof(detail), "the value differs from the one PUT: %zu bytes, want "
		 "%zu (first difference at byte %zu)", answer->value_len, want_len, i);
	actor_fail(actor, "kv_put_get", detail);
	return false;
}

static int pg_client_poll(void *data, struct gale_cx *cx)
{
	struct pg_client *client = data;
	struct kv_actor *actor = &client->actor;
	int rc = 0;
	while (client->step < client->steps_count) {
		if (!client->is_step_started)
			pg_step_start(client);
		rc = actor_run(actor, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0 || !pg_step_check(client))
			break;
		client->is_step_started = false;
		client->step++;
	}
	actor_finish(actor);
	return rc == GALE_E_CANCELED ? 0 : rc; /* Cancelled: another task failed the run. */
}

static int pg_setup(struct gale_scenario_run *run, void *data)
{
	struct pg_state *state = data;
	struct kv_world *world = &state->world;
	world->clients_count = (uint32_t)gale_scenario_draw(run, 1, KV_CLIENTS_MAX);
	int rc = world_setup(world, run);
	for (uint32_t i = 0; i < world->clients_count && rc == 0; i++) {
		struct pg_client *client = &state->clients[i];
		actor_init(&client->actor, world, i);
		client->keys_count = (uint32_t)gale_scenario_draw(run, 1, PG_KEYS_MAX);
		for (uint32_t k = 0; k < client->keys_count; k++) {
			client->value_lens[k] = (uint16_t)gale_scenario_draw(run, 0,
									     KV_TEST_VALUE_MAX);
			client->is_deleted[k] = gale_scenario_draw(run, 0, 2) == 0;
		}
		pg_program(client);
		rc = gale_scenario_spawn_retry(run, "kv-client", pg_client_poll, client, false,
					       NULL);
	}
	return rc;
}

/* The server's store must hold exactly each client's keys not deleted, with their values. */
static void pg_check_store(struct pg_state *state)
{
	struct kv_world *world = &state->world;
	uint64_t kept = 0;
	for (uint32_t i = 0; i < world->clients_count; i++) {
		struct pg_client *client = &state->clients[i];
		for (uint32_t k = 0; k < client->keys_count; k++) {
			char key[KV_TEST_KEY_MAX];
			int key_len = snprintf(key, sizeof(key), "c%u-k%u", i, k);
			const uint8_t *value;
			size_t len;
			uint8_t want[KV_TEST_VALUE_MAX];
			size_t want_len = pg_value_fill(client, k, want);
			int rc = kv_server_lookup(&world->server, key, (size_t)key_len, &value,
						  &len);
			kept += !client->is_deleted[k];
			if (rc == 0 && !client->is_deleted[k] && len == want_len &&
			    memcmp(value, want, len) == 0)
				continue;
			if (rc != 0 && client->is_deleted[k])
				continue;
			const char *what = "with a wrong value";
			if (rc != 0)
				what = "missing";
			else if (client->is_deleted[k])
				what = "after its DEL";
			gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
					   "kv_put_get: the server's store has '%s' %s", key, what);
		}
	}
	if (world->server.entries_count != kept)
		gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
				   "kv_put_get: the server stores %llu keys, want %llu",
				   (unsigned long long)world->server.entries_count,
				   (unsigned long long)kept);
}

static int pg_check(struct gale_scenario_run *run, void *data)
{
	struct pg_state *state = data;
	struct kv_actor *actors[KV_CLIENTS_MAX];
	(void)run;
	for (uint32_t i = 0; i < state->world.clients_count; i++)
		actors[i] = &state->clients[i].actor;
	world_check(&state->world, actors, "kv_put_get");
	pg_check_store(state);
	return 0;
}

static void pg_teardown(struct gale_scenario_run *run, void *data)
{
	struct pg_state *state = data;
	(void)run;
	for (uint32_t i = 0; i < KV_CLIENTS_MAX; i++)
		actor_teardown(&state->clients[i].actor);
	kv_server_deinit(&state->world.server);
}

const struct gale_scenario kv_put_get = {
	.name = "kv_put_get",
	.description = "1..4 clients PUT, GET and DEL their own keys; answers and store exact",
	.state_size = sizeof(struct pg_state),
	.setup = pg_setup,
	.check = pg_check,
	.teardown = pg_teardown,
};

/* ---- kv_concurrent --------------------------------------------------------------------- */

#define CC_KEYS_MAX 6
#define CC_ROUNDS_MAX 12
#define CC_VALUE_HEADER 3 /* Writer, round, key. */
#define CC_VALUE_MAX 400

/* One PUT of the run, for the order checks (clock ticks; 0: not yet). */
struct cc_put {
	uint8_t key;          /* Key index. */
	uint16_t value_len;   /* Its value's length. */
	uint64_t first_send;  /* Before its first attempt was sent. */
	uint64_t acked_send;  /* When the acknowledged attempt was sent. */
	uint64_t ack;         /* When the acknowledgement arrived: no attempt ends later. */
};

struct cc_client {
	struct kv_actor actor;             /* Runs the rounds. */
	uint32_t rounds_count;             /* Rounds to make. */
	uint32_t round;                    /* The round under way. */
	bool is_getting;                   /* Its GET (else its PUT). */
	bool is_step_started;              /* actor holds the operation. */
	uint8_t get_key;                   /* The GET's key index. */
	struct cc_put puts[CC_ROUNDS_MAX]; /* Its PUTs, one per round. */
};

struct cc_state {
	struct kv_world world;                    /* Server and bookkeeping. */
	uint32_t keys_count;                      /* Shared keys. */
	struct cc_client clients[KV_CLIENTS_MAX]; /* The clients. */
};

static uint64_t cc_value_seed(const struct kv_world *world, uint32_t client, uint32_t round)
{
	return world->run->seed ^ 0x6b76636f6e63ull ^ ((uint64_t)client << 40) ^
	       ((uint64_t)round << 20);
}

/* The PUT a value came from, or NULL when no client PUT exactly these bytes for key. */
static const struct cc_put *cc_value_source(const struct cc_state *state, uint32_t key,
					    const uint8_t *value, size_t len,
					    const struct cc_client **writer_out)
{
	if (len < CC_VALUE_HEADER || value[0] >= state->world.clients_count || value[2] != key)
		return NULL;
	const struct cc_client *writer = &state->clients[value[0]];
	if (value[1] >= writer->rounds_count)
		return NULL;
	const struct cc_put *put = &writer->puts[value[1]];
	uint64_t seed = cc_value_seed(&state->world, value[0], value[1]);
	if (put->first_send == 0 || put->key != key || put->value_len != len ||
	    gale_scenario_pattern_mismatch(seed, 0, value + CC_VALUE_HEADER,
					   len - CC_VALUE_HEADER) != len - CC_VALUE_HEADER)
		return NULL;
	*writer_out = writer;
	return put;
}

/* A PUT of key acknowledged, that began after `after` and ended before `before`. */
static const struct cc_put *cc_put_between(const struct cc_state *state, uint32_t key,
					   uint64_t after, uint64_t before,
					   const struct cc_client **writer_out)
{
	for (uint32_t i = 0; i < state->world.clients_count; i++) {
		const struct cc_client *writer = &state->clients[i];
		for (uint32_t r = 0; r < writer->rounds_count; r++) {
			const struct cc_put *put = &writer->puts[r];
			if (put->key == key && put->ack != 0 && put->acked_send > after &&
			    put->ack < before) {
				*writer_out = writer;
				return put;
			}
		}
	}
	return NULL;
}

static void cc_step_start(struct cc_client *client, struct cc_state *state)
{
	struct kv_actor *actor = &client->actor;
	struct gale_scenario_run *run = state->world.run;
	uint32_t key = (uint32_t)gale_scenario_draw(run, 0, state->keys_count - 1);
	char text[KV_TEST_KEY_MAX];
	snprintf(text, sizeof(text), "shared-%u", key);
	if (client->is_getting) {
		client->get_key = (uint8_t)key;
		actor_op_start(actor, KV_OP_GET, text);
	} else {
		struct cc_put *put = &client->puts[client->round];
		actor_op_start(actor, KV_OP_PUT, text);
		put->key = (uint8_t)key;
		put->value_len = (uint16_t)gale_scenario_draw(run, CC_VALUE_HEADER, CC_VALUE_MAX);
		put->first_send = ++state->world.clock;
		actor->value[0] = (uint8_t)actor->index;
		actor->value[1] = (uint8_t)client->round;
		actor->value[2] = (uint8_t)key;
		gale_scenario_pattern_fill(cc_value_seed(&state->world, actor->index,
							 client->round), 0,
					   actor->value + CC_VALUE_HEADER,
					   put->value_len - CC_VALUE_HEADER);
		actor->value_len = put->value_len;
	}
	client->is_step_started = true;
}

/* A GET's answer, against the history of PUTs of its key. */
static bool cc_get_check(struct cc_client *client, struct cc_state *state)
{
	struct kv_actor *actor = &client->actor;
	const struct kv_request *answer = &actor->request;
	const struct cc_client *writer, *other;
	char detail[160];
	if (answer->status == KV_STATUS_NOT_FOUND) {
		const struct cc_put *put = cc_put_between(state, client->get_key, 0,
							  actor->last_send,
							  &writer);
		if (put == NULL)
			return true;
		snprintf(detail, sizeof(detail), "NOT_FOUND, but client %u's PUT of round %u was "
			 "acknowledged before the GET was sent", writer->actor.index,
			 (unsigned)(put - writer->puts));
		actor_fail(actor, "kv_concurrent", detail);
		return false;
	}
	if (!actor_status_is(actor, "kv_concurrent", KV_STATUS_OK))
		return false;
	const struct cc_put *source = cc_value_source(state, client->get_key, actor->got,
						      answer->value_len, &writer);
	if (source == NULL) {
		snprintf(detail, sizeof(detail), "a value no client PUT for this key (%zu bytes)",
			 answer->value_len);
		actor_fail(actor, "kv_concurrent", detail);
		return false;
	}
	if (source->ack == 0)
		return true; /* Its PUT is still under way: it may apply any time. */
	const struct cc_put *newer = cc_put_between(state, client->get_key, source->ack,
						    actor->last_send, &other);
	if (newer == NULL)
		return true;
	snprintf(detail, sizeof(detail), "a stale value: client %u's of round %u, which client "
		 "%u's PUT of round %u replaced before the GET was sent", writer->actor.index,
		 (unsigned)(source - writer->puts), other->actor.index,
		 (unsigned)(newer - other->puts));
	actor_fail(actor, "kv_concurrent", detail);
	return false;
}

static int cc_client_poll(void *data, struct gale_cx *cx)
{
	struct cc_client *client = data;
	struct cc_state *state = (struct cc_state *)client->actor.world;
	struct kv_actor *actor = &client->actor;
	int rc = 0;
	while (client->round < client->rounds_count) {
		if (!client->is_step_started)
			cc_step_start(client, state);
		rc = actor_run(actor, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0)
			break;
		if (client->is_getting ? !cc_get_check(client, state)
				       : !actor_status_is(actor, "kv_concurrent", KV_STATUS_OK))
			break;
		if (!client->is_getting) {
			struct cc_put *put = &client->puts[client->round];
			put->acked_send = actor->last_send;
			put->ack = actor->last_end;
		}
		client->is_step_started = false;
		client->round += client->is_getting;
		client->is_getting = !client->is_getting;
	}
	actor_finish(actor);
	return rc == GALE_E_CANCELED ? 0 : rc;
}

static int cc_setup(struct gale_scenario_run *run, void *data)
{
	struct cc_state *state = data;
	struct kv_world *world = &state->world;
	world->clients_count = (uint32_t)gale_scenario_draw(run, 2, KV_CLIENTS_MAX);
	state->keys_count = (uint32_t)gale_scenario_draw(run, 1, CC_KEYS_MAX);
	int rc = world_setup(world, run);
	for (uint32_t i = 0; i < world->clients_count && rc == 0; i++) {
		struct cc_client *client = &state->clients[i];
		actor_init(&client->actor, world, i);
		client->rounds_count = (uint32_t)gale_scenario_draw(run, 1, CC_ROUNDS_MAX);
		rc = gale_scenario_spawn_retry(run, "kv-client", cc_client_poll, client, false,
					       NULL);
	}
	return rc;
}

/* Per key: the store holds a value some client PUT, and no PUT began after it was
 * acknowledged (that one would have replaced it); a key PUT at all is there. */
static void cc_check_store(struct cc_state *state)
{
	struct kv_world *world = &state->world;
	uint64_t keys_put = 0;
	for (uint32_t key = 0; key < state->keys_count; key++) {
		char text[KV_TEST_KEY_MAX];
		int text_len = snprintf(text, sizeof(text), "shared-%u", key);
		const struct cc_client *writer, *other;
		const struct cc_put *any = cc_put_between(state, key, 0, UINT64_MAX, &writer);
		keys_put += any != NULL;
		const uint8_t *value;
		size_t len;
		if (kv_server_lookup(&world->server, text, (size_t)text_len, &value, &len) != 0) {
			if (any != NULL)
				gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
						   "kv_concurrent: '%s' is missing from the store, "
						   "though PUT", text);
			continue;
		}
		const struct cc_put *source = cc_value_source(state, key, value, len, &writer);
		if (source == NULL) {
			gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
					   "kv_concurrent: the store holds a %zu-byte value for "
					   "'%s' that no client PUT", len, text);
			continue;
		}
		const struct cc_put *newer = cc_put_between(state, key, source->ack, UINT64_MAX,
							    &other);
		if (newer != NULL)
			gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
					   "kv_concurrent: the store holds client %u's value of "
					   "round %u for '%s', replaced since by client %u's PUT "
					   "of round %u", writer->actor.index,
					   (unsigned)(source - writer->puts), text,
					   other->actor.index, (unsigned)(newer - other->puts));
	}
	if (world->server.entries_count != keys_put)
		gale_scenario_fail(world->run, GALE_ORACLE_CHECK,
				   "kv_concurrent: the server stores %llu keys, want %llu",
				   (unsigned long long)world->server.entries_count,
				   (unsigned long long)keys_put);
}

static int cc_check(struct gale_scenario_run *run, void *data)
{
	struct cc_state *state = data;
	struct kv_actor *actors[KV_CLIENTS_MAX];
	(void)run;
	for (uint32_t i = 0; i < state->world.clients_count; i++)
		actors[i] = &state->clients[i].actor;
	world_check(&state->world, actors, "kv_concurrent");
	cc_check_store(state);
	return 0;
}

static void cc_teardown(struct gale_scenario_run *run, void *data)
{
	struct cc_state *state = data;
	(void)run;
	for (uint32_t i = 0; i < KV_CLIENTS_MAX; i++)
		actor_teardown(&state->clients[i].actor);
	kv_server_deinit(&state->world.server);
}

const struct gale_scenario kv_concurrent = {
	.name = "kv_concurrent",
	.description = "2..4 clients PUT and GET shared keys; answers checked against event order",
	.state_size = sizeof(struct cc_state),
	.setup = cc_setup,
	.check = cc_check,
	.teardown = cc_teardown,
};
