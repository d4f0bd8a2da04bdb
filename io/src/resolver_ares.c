/* SPDX-License-Identifier: MIT */
/*
 * The c-ares resolver (resolver_ares.h). Sections:
 *   1. Sockets   c-ares's socket functions over the runtime's driver; each socket an AsyncFd
 *   2. Task      the resolver's task: readiness -> ares_process_fd, timeouts on a sleep
 *   3. Queries   ares_getaddrinfo per query; a slot outlives a cancelled query until
 *                c-ares lets it go (c-ares cannot cancel one query)
 *   4. Lifecycle init, deinit
 * Closes c-ares asks for while the task is processing are deferred to the end of the
 * pass: the task may hold a readiness guard on that very socket.
 */
#define _DEFAULT_SOURCE /* fd_set and struct timeval, which <ares.h> uses. */

#include <sys/select.h>
#include <sys/time.h>

#include <ares.h>
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <string.h>

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/resolver_ares.h>
#include <gale/time.h>

#include "resolver_ares_internal.h"

/* Sockets c-ares may hold at once (one UDP and one TCP per server, a few servers). */
#define ARES_SOCKETS_MAX 16

struct ares_socket {
	struct gale_async_fd async_fd; /* Registered READ|WRITE with the runtime. */
	bool is_open;                  /* The slot holds a socket. */
	bool is_closing;               /* c-ares closed it during a pass: close after it. */
	bool wants_write;              /* c-ares waits for writability (the state callback). */
	bool read_attempted;           /* c-ares called recv on it during this pass. */
	bool read_would_block;         /* The last recv on it reported -EAGAIN. */
	bool write_attempted;          /* c-ares called send on it during this pass. */
	bool write_would_block;        /* The last send on it reported -EAGAIN. */
};

/* One c-ares query. query is NULL once its owner cancelled it. */
struct ares_slot {
	struct gale_resolver_ares_state *state; /* Owner. */
	struct gale_resolve_query *query;       /* Borrowed; NULL: cancelled. */
};

struct gale_resolver_ares_state {
	struct gale_runtime *runtime;                 /* Borrowed. */
	ares_channel channel;                         /* c-ares's state. */
	struct ares_socket sockets[ARES_SOCKETS_MAX]; /* c-ares's sockets. */
	struct gale_sleep sleep;                      /* c-ares's next timeout. */
	struct gale_task_handle task;                 /* The task, or {0}. */
	unsigned slots_live;                          /* c-ares queries outstanding. */
	unsigned queries_live;                        /* ...whose owner still waits. */
	bool is_processing;                           /* Inside a pass (defer closes). */
};

/* ==== 1. Sockets ========================================================================= */

static struct gale_driver *state_driver(const struct gale_resolver_ares_state *state)
{
	return gale_runtime_driver(state->runtime);
}

static struct ares_socket *socket_find(struct gale_resolver_ares_state *state, int fd)
{
	for (unsigned i = 0; i < ARES_SOCKETS_MAX; i++) {
		struct ares_socket *sock = &state->sockets[i];
		if (sock->is_open && gale_async_fd_fd(&sock->async_fd) == fd)
			return sock;
	}
	return NULL;
}

static ares_socket_t ares_glue_socket(int domain, int type, int protocol, void *data)
{
	struct gale_resolver_ares_state *state = data;
	struct ares_socket *sock = NULL;
	for (unsigned i = 0; sock == NULL && i < ARES_SOCKETS_MAX; i++) {
		if (!state->sockets[i].is_open)
			sock = &state->sockets[i];
	}
	if (sock == NULL)
		return (ares_socket_t)gale__errno_result(-EMFILE);
	struct gale_driver *driver = state_driver(state);
	int fd = gale_driver_socket(driver, domain, type, protocol);
	if (fd < 0)
		return (ares_socket_t)gale__errno_result(fd);
	int rc = gale_async_fd_init(&sock->async_fd, state->runtime, fd);
	if (rc < 0) {
		(void)gale_driver_close(driver, fd);
		return (ares_socket_t)gale__errno_result(rc);
	}
	*sock = (struct ares_socket){.async_fd = sock->async_fd, .is_open = true};
	return fd;
}

static void socket_release(struct ares_socket *sock)
{
	assert(sock->is_open);
	(void)gale_async_fd_close(&sock->async_fd);
	*sock = (struct ares_socket){0};
}

static int ares_glue_close(ares_socket_t fd, void *data)
{
	struct gale_resolver_ares_state *state = data;
	struct ares_socket *sock = socket_find(state, fd);
	if (sock == NULL)
		return (int)gale__errno_result(-EBADF);
	if (state->is_processing)
		sock->is_closing = true;
	else
		socket_release(sock);
	return 0;
}

static int ares_glue_connect(ares_socket_t fd, const struct sockaddr *addr,
			     ares_socklen_t addr_len, void *data)
{
	struct gale_resolver_ares_state *state = data;
	return (int)gale__errno_result(gale_driver_connect(state_driver(state), fd, addr,
							   addr_len));
}

/* recvfrom over recv: c-ares's sockets are connected, so the sender is the peer. */
static ares_ssize_t ares_glue_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
				       struct sockaddr *from, ares_socklen_t *from_len,
				       void *data)
{
	struct gale_resolver_ares_state *state = data;
	(void)flags; /* c-ares passes 0. */
	struct gale_driver *driver = state_driver(state);
	ssize_t rc = gale_driver_recv(driver, fd, buf, len, 0);
	struct ares_socket *sock = socket_find(state, fd);
	if (sock != NULL) {
		sock->read_attempted = true;
		sock->read_would_block = rc == -EAGAIN;
	}
	if (rc >= 0 && from != NULL && from_len != NULL) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int peer_rc = gale_driver_addr_peer(driver, fd, &peer, &peer_len);
		if (peer_rc < 0)
			return gale__errno_result(peer_rc);
		size_t copy = peer_len < *from_len ? peer_len : *from_len;
		memcpy(from, &peer, copy);
		*from_len = peer_len;
	}
	return gale__errno_result(rc);
}

static ares_ssize_t ares_glue_sendv(ares_socket_t fd, const struct iovec *iov, int iov_count,
				    void *data)
{
	struct gale_resolver_ares_state *state = data;
	ssize_t rc = gale_driver_writev(state_driver(state), fd, iov, iov_count);
	struct ares_socket *sock = socket_find(state, fd);
	if (sock != NULL) {
		sock->write_attempted = true;
		sock->write_would_block = rc == -EAGAIN;
	}
	return gale__errno_result(rc);
}

static const struct ares_socket_functions ares_glue_functions = {
	.asocket = ares_glue_socket,
	.aclose = ares_glue_close,
	.aconnect = ares_glue_connect,
	.arecvfrom = ares_glue_recvfrom,
	.asendv = ares_glue_sendv,
};

/* c-ares's socket-state callback: which sockets wait for writability. */
static void ares_glue_state(void *data, ares_socket_t fd, int readable, int writable)
{
	(void)readable; /* Every socket is watched for reads. */
	struct ares_socket *sock = socket_find(data, fd);
	if (sock != NULL)
		sock->wants_write = writable != 0;
}

/* ==== 2. Task ============================================================================ */

/* One direction of one socket: processes it when ready. True when it made progress. */
static bool task_socket_direction(struct gale_resolver_ares_state *state, struct ares_socket *sock,
				  struct gale_cx *cx, bool is_write)
{
	struct gale_async_fd_guard guard;
	int rc = is_write ? gale_async_fd_poll_write_ready(&sock->async_fd, cx, &guard)
			  : gale_async_fd_poll_read_ready(&sock->async_fd, cx, &guard);
	if (rc == GALE_PENDING)
		return false;
	int fd = gale_async_fd_fd(&sock->async_fd);
	if (rc < 0) {
		/* The registration failed under us: let c-ares find the error itself. */
		ares_process_fd(state->channel, fd, ARES_SOCKET_BAD);
		return true;
	}
	sock->read_attempted = sock->write_attempted = false;
	sock->read_would_block = sock->write_would_block = false;
	if (is_write)
		ares_process_fd(state->channel, ARES_SOCKET_BAD, fd);
	else
		ares_process_fd(state->channel, fd, ARES_SOCKET_BAD);
	/* Ready still unless the op said -EAGAIN, or c-ares did not try it at all (nothing
	 * for it there now: retaining would poll it again and again). */
	bool would_block = is_write ? sock->write_would_block || !sock->write_attempted ||
					      !sock->wants_write
				    : sock->read_would_block || !sock->read_attempted;
	if (would_block || sock->is_closing) {
		gale_async_fd_guard_clear_ready(&guard);
		return sock->is_closing;
	}
	gale_async_fd_guard_retain_ready(&guard);
	return true; /* Still ready: c-ares stopped before -EAGAIN; go round again. */
}

/* Arms the sleep for c-ares's next timeout; true when it is due already (processed). */
static bool task_timeout(struct gale_resolver_ares_state *state, struct gale_cx *cx)
{
	struct timeval tv;
	if (ares_timeout(state->channel, NULL, &tv) == NULL)
		return false;
	int64_t delay_ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
	gale_sleep_reset(&state->sleep, gale_runtime_now_ns(state->runtime) + delay_ns);
	if (gale_sleep_poll(&state->sleep, cx) == GALE_PENDING)
		return false;
	ares_process_fd(state->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	return true;
}

/* One pass over the sockets and the timeout. True when something happened. */
static bool task_pass(struct gale_resolver_ares_state *state, struct gale_cx *cx)
{
	bool progress = false;
	state->is_processing = true;
	for (unsigned i = 0; i < ARES_SOCKETS_MAX; i++) {
		struct ares_socket *sock = &state->sockets[i];
		if (sock->is_open && !sock->is_closing)
			progress |= task_socket_direction(state, sock, cx, false);
		if (sock->is_open && !sock->is_closing && sock->wants_write)
			progress |= task_socket_direction(state, sock, cx, true);
	}
	progress |= task_timeout(state, cx);
	state->is_processing = false;
	for (unsigned i = 0; i < ARES_SOCKETS_MAX; i++) {
		if (state->sockets[i].is_closing)
			socket_release(&state->sockets[i]);
	}
	return progress;
}

/* The resolver's task: runs while c-ares has queries outstanding. */
static int task_poll(void *data, struct gale_cx *cx)
{
	struct gale_resolver_ares_state *state = data;
	if (state->slots_live > 0 && task_pass(state, cx)) {
		/* Progress: sockets may have opened or answers may be due; look again
		 * after the other runnable tasks (a yield, not a loop). */
		gale_waker_wake(&cx->waker);
		return GALE_PENDING;
	}
	if (state->slots_live > 0)
		return GALE_PENDING;
	gale_sleep_reset(&state->sleep, 0);
	return 0;
}

/* Spawns the task unless it runs; reaps a finished one first. 0 or -ENOMEM. */
static int task_ensure(struct gale_resolver_ares_state *state)
{
	struct gale_executor *executor = &state->runtime->executor;
	if (state->task.id != 0) {
		int result;
		if (gale_executor_try_join(executor, state->task, &result) == -EAGAIN)
			return 0; /* Still running: it sees the new query on its next pass. */
		state->task.id = 0;
	}
	int rc = gale_executor_spawn(executor, task_poll, state, &state->task);
	if (rc < 0)
		state->task.id = 0;
	return rc;
}

/* ==== 3. Queries ========================================================================= */

/* c-ares's status as gale's code. */
static int ares_status_code(int status)
{
	switch (status) {
	case ARES_SUCCESS: return 0;
	case ARES_ENOTFOUND: return GALE_E_RESOLVE_NOT_FOUND;
	case ARES_ENONAME: return GALE_E_RESOLVE_NOT_FOUND;
	case ARES_ENODATA: return GALE_E_RESOLVE_NO_ADDRESS;
	case ARES_ESERVFAIL: return GALE_E_RESOLVE_SERVER_FAILURE;
	case ARES_EREFUSED: return GALE_E_RESOLVE_REFUSED;
	case ARES_ETIMEOUT: return GALE_E_RESOLVE_TIMED_OUT;
	case ARES_EBADNAME: return GALE_E_RESOLVE_BAD_NAME;
	case ARES_ENOMEM: return -ENOMEM;
	case ARES_ECANCELLED: return GALE_E_CANCELED;
	case ARES_EDESTRUCTION: return GALE_E_CANCELED;
	default: return GALE_E_RESOLVE_FAILED;
	}
}

static void slot_free(struct ares_slot *slot)
{
	struct gale_resolver_ares_state *state = slot->state;
	const struct gale_allocator *allocator = gale_runtime_allocator(state->runtime);
	assert(state->slots_live > 0);
	state->slots_live--;
	allocator->free(allocator->data, slot, sizeof(*slot));
}

static void ares_on_answer(void *data, int status, int timeouts, struct ares_addrinfo *result)
{
	(void)timeouts;
	struct ares_slot *slot = data;
	struct gale_resolve_query *query = slot->query;
	if (query != NULL) {
		assert(slot->state->queries_live > 0);
		slot->state->queries_live--;
		query->resolver_data = NULL;
		for (struct ares_addrinfo_node *node = result != NULL ? result->nodes : NULL;
		     node != NULL; node = node->ai_next)
			(void)gale_resolve_query_addr_add(query, node->ai_addr, node->ai_addrlen);
		gale_resolve_query_answer(query, ares_status_code(status), 0);
	}
	if (result != NULL)
		ares_freeaddrinfo(result);
	slot_free(slot);
}

static struct gale_resolver_ares_state *state_of(struct gale_resolver *resolver)
{
	struct gale_resolver_ares *ares = (struct gale_resolver_ares *)resolver;
	assert(ares->priv_state != NULL);
	return ares->priv_state;
}

static int ares_query_start(struct gale_resolver *resolver, struct gale_resolve_query *query)
{
	struct gale_resolver_ares_state *state = state_of(resolver);
	assert(gale_resolve_query_runtime(query) == state->runtime);
	const struct gale_allocator *allocator = gale_runtime_allocator(state->runtime);
	struct ares_slot *slot = allocator->alloc(allocator->data, sizeof(*slot));
	if (slot == NULL)
		return -ENOMEM;
	*slot = (struct ares_slot){.state = state, .query = query};
	query->resolver_data = slot;
	state->slots_live++;
	state->queries_live++;
	struct ares_addrinfo_hints hints = {
		.ai_family = gale_resolve_query_family(query),
		.ai_socktype = SOCK_STREAM,
		/* Answer order as given: sorting would probe routes with sockets of its own. */
		.ai_flags = ARES_AI_NOSORT,
	};
	/* May answer at once (/etc/hosts): slot is then gone. */
	ares_getaddrinfo(state->channel, gale_resolve_query_name(query), NULL, &hints,
			 ares_on_answer, slot);
	if (state->slots_live == 0)
		return 0;
	int rc = task_ensure(state);
	if (rc < 0 && query->resolver_data != NULL) {
		slot->query = NULL; /* c-ares lets it go at deinit or on its timeout. */
		query->resolver_data = NULL;
		state->queries_live--;
	}
	return rc;
}

static void ares_query_cancel(struct gale_resolver *resolver, struct gale_resolve_query *query)
{
	struct gale_resolver_ares_state *state = state_of(resolver);
	struct ares_slot *slot = query->resolver_data;
	assert(slot != NULL && slot->query == query);
	slot->query = NULL;
	query->resolver_data = NULL;
	assert(state->queries_live > 0);
	state->queries_live--;
	/* Nobody waits any more: end c-ares's queries now (their callbacks free the slots
	 * and c-ares closes its sockets) rather than let them run to their timeouts. */
	if (state->queries_live > 0 || state->is_processing)
		return;
	ares_cancel(state->channel);
	if (state->slots_live == 0 && state->task.id != 0) {
		/* The task waits on a timer that no longer matters: let it finish now. */
		gale_sleep_reset(&state->sleep, 0);
		struct gale_waker waker = gale_executor_waker(&state->runtime->executor,
							      state->task);
		gale_waker_wake(&waker);
	}
}

/* ==== 4. Lifecycle ======================================================================= */

static void ares_resolver_deinit(struct gale_resolver *resolver)
{
	struct gale_resolver_ares *ares = (struct gale_resolver_ares *)resolver;
	struct gale_resolver_ares_state *state = ares->priv_state;
	if (state == NULL)
		return;
	assert(state->queries_live == 0 && "resolver deinit'd with queries pending");
	struct gale_executor *executor = &state->runtime->executor;
	if (state->task.id != 0) {
		int result;
		(void)gale_executor_abort(executor, state->task);
		(void)gale_executor_try_join(executor, state->task, &result);
	}
	ares_destroy(state->channel); /* Fails what is left (freeing slots), closes sockets. */
	assert(state->slots_live == 0);
	for (unsigned i = 0; i < ARES_SOCKETS_MAX; i++) {
		if (state->sockets[i].is_open)
			socket_release(&state->sockets[i]);
	}
	gale_sleep_deinit(&state->sleep);
	const struct gale_allocator *allocator = gale_runtime_allocator(state->runtime);
	allocator->free(allocator->data, state, sizeof(*state));
	ares->priv_state = NULL;
	ares_library_cleanup();
}

static const struct gale_resolver_ops ares_resolver_ops = {
	.abi_version = GALE_RESOLVER_ABI_VERSION,
	.name = "c-ares",
	.query_start = ares_query_start,
	.query_cancel = ares_query_cancel,
	.deinit = ares_resolver_deinit,
};

/* The channel with the options asked for. 0, -ENOMEM, -EINVAL or GALE_E_RESOLVE_FAILED. */
static int channel_start(struct gale_resolver_ares_state *state,
			 const struct gale_resolver_ares_options *options)
{
	struct ares_options ares_options = {
		.sock_state_cb = ares_glue_state,
		.sock_state_cb_data = state,
		.timeout = options->timeout_ms,
		.tries = options->tries,
		.flags = options->use_tcp ? ARES_FLAG_USEVC : 0,
	};
	int mask = ARES_OPT_SOCK_STATE_CB | (options->use_tcp ? ARES_OPT_FLAGS : 0);
	mask |= options->timeout_ms > 0 ? ARES_OPT_TIMEOUTMS : 0;
	mask |= options->tries > 0 ? ARES_OPT_TRIES : 0;
	int status = ares_init_options(&state->channel, &ares_options, mask);
	if (status != ARES_SUCCESS)
		return status == ARES_ENOMEM ? -ENOMEM : GALE_E_RESOLVE_FAILED;
	ares_set_socket_functions(state->channel, &ares_glue_functions, state);
	if (options->servers != NULL &&
	    ares_set_servers_ports_csv(state->channel, options->servers) != ARES_SUCCESS) {
		ares_destroy(state->channel);
		return -EINVAL;
	}
	return 0;
}

int gale_resolver_ares_init(struct gale_resolver_ares *resolver, struct gale_runtime *runtime,
			    const struct gale_resolver_ares_options *options)
{
	assert(resolver != NULL && runtime != NULL);
	*resolver = (struct gale_resolver_ares){0};
	struct gale_resolver_ares_options defaults = {0};
	if (options == NULL)
		options = &defaults;
	if (options->timeout_ms < 0 || options->tries < 0)
		return -EINVAL;
	const struct gale_allocator *allocator = gale_runtime_allocator(runtime);
	struct gale_resolver_ares_state *state = allocator->alloc(allocator->data, sizeof(*state));
	if (state == NULL)
		return -ENOMEM;
	*state = (struct gale_resolver_ares_state){.runtime = runtime};
	gale_sleep_init_until(&state->sleep, runtime, 0);
	int rc = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? 0 : GALE_E_RESOLVE_FAILED;
	if (rc == 0) {
		rc = channel_start(state, options);
		if (rc < 0)
			ares_library_cleanup();
	}
	if (rc < 0) {
		allocator->free(allocator->data, state, sizeof(*state));
		return rc;
	}
	resolver->priv_state = state;
	resolver->base.ops = &ares_resolver_ops;
	return 0;
}

unsigned gale_resolver_ares_sockets_open(const struct gale_resolver_ares *resolver)
{
	assert(resolver != NULL);
	const struct gale_resolver_ares_state *state = resolver->priv_state;
	unsigned count = 0;
	for (unsigned i = 0; state != NULL && i < ARES_SOCKETS_MAX; i++)
		count += state->sockets[i].is_open ? 1u : 0u;
	return count;
}
