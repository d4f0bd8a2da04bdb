/* SPDX-License-Identifier: MIT */
/*
 * The connect future (tcp.h): each address in turn gets a socket and a non-blocking
 * connect; completion shows as writability and SO_ERROR tells the outcome. The first
 * success becomes the stream; when every address failed, the last error is the result.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdio.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/resolve.h>
#include <gale/tcp.h>

#include "net_internal.h"

/* Readiness polls per connect poll before yielding (a spurious writability costs one). */
#define CONNECT_READY_ATTEMPTS_MAX 2

/* Result of one step of an attempt. */
enum connect_step {
	CONNECT_STEP_DONE = 0,   /* Connected: the AsyncFd holds the socket. */
	CONNECT_STEP_FAILED = 1, /* This address failed: priv_error_last says why. */
	CONNECT_STEP_WAIT = 2,   /* In flight: wait for writability. */
};

static struct gale_driver *connect_driver(const struct gale_tcp_connect *future)
{
	assert(future != NULL && future->priv_runtime != NULL);
	return gale_runtime_driver(future->priv_runtime);
}

void gale_tcp_connect_init(struct gale_tcp_connect *future, struct gale_runtime *runtime,
			   const struct gale_socket_addr *addrs, size_t addr_count)
{
	assert(future != NULL && runtime != NULL);
	assert(addrs != NULL || addr_count == 0);
	*future = (struct gale_tcp_connect){0};
	future->priv_runtime = runtime;
	future->priv_addrs = addrs;
	future->priv_addr_count = addr_count;
	/* Returned when there is no address at all to try. */
	future->priv_error_last = -EINVAL;
}

void gale_tcp_connect_bind(struct gale_tcp_connect *future, const struct gale_socket_addr *local)
{
	assert(future != NULL && future->priv_runtime != NULL);
	assert(!future->priv_is_in_flight && !future->priv_is_done);
	future->priv_local = local;
}

/* Binds fd to the source address asked for, if any: 0 or the bind's error. */
static int connect_bind_local(const struct gale_tcp_connect *future, struct gale_driver *driver,
			      int fd, int family)
{
	const struct gale_socket_addr *local = future->priv_local;
	if (local == NULL)
		return 0;
	if (gale_socket_addr_family(local) != family)
		return -EINVAL; /* bind(2) with another family's address. */
	return gale_driver_bind(driver, fd, (const struct sockaddr *)&local->storage, local->len);
}

/* Starts the attempt on the next address: socket, connect, register when in progress. */
static enum connect_step connect_attempt_start(struct gale_tcp_connect *future)
{
	assert(future->priv_addr_index < future->priv_addr_count);
	assert(!future->priv_is_in_flight);
	const struct gale_socket_addr *addr = &future->priv_addrs[future->priv_addr_index++];
	struct gale_driver *driver = connect_driver(future);
	/* An address of no family (-EAFNOSUPPORT) fails like a socket() that refused it. */
	int family = gale_socket_addr_family(addr);
	int fd = family < 0 ? family : gale_driver_socket(driver, family, SOCK_STREAM, 0);
	if (fd < 0) {
		future->priv_error_last = fd;
		return CONNECT_STEP_FAILED;
	}
	int rc = connect_bind_local(future, driver, fd, family);
	if (rc == 0)
		rc = gale_driver_connect(driver, fd, (const struct sockaddr *)&addr->storage,
					 addr->len);
	if (rc == 0 || rc == -EINPROGRESS)
		rc = gale_async_fd_init(&future->priv_async_fd, future->priv_runtime, fd);
	if (rc < 0) {
		(void)gale_driver_close(driver, fd);
		future->priv_error_last = rc;
		return CONNECT_STEP_FAILED;
	}
	future->priv_is_in_flight = true;
	/* Connected at once (possible on loopback): writability is still reported by the
	 * registration, and the check below confirms it, so one path serves both cases. */
	return CONNECT_STEP_WAIT;
}

/* Ends the attempt in flight: closes its socket. */
static void connect_attempt_abandon(struct gale_tcp_connect *future)
{
	assert(future->priv_is_in_flight);
	future->priv_is_in_flight = false;
	(void)gale_async_fd_close(&future->priv_async_fd);
}

/*
 * Checks an attempt after writability: SO_ERROR gives a failure; a peer address proves the
 * connection. -ENOTCONN with no error means the writability was spurious (a hint only):
 * the readiness is cleared as after -EAGAIN and the attempt keeps waiting.
 */
static enum connect_step connect_attempt_check(struct gale_tcp_connect *future,
					       struct gale_async_fd_guard *guard)
{
	struct gale_driver *driver = connect_driver(future);
	int fd = gale_async_fd_fd(&future->priv_async_fd);
	assert(fd >= 0);
	int error = gale_driver_socket_error_take(driver, fd);
	if (error == 0) {
		struct sockaddr_storage storage;
		socklen_t len = sizeof(storage);
		error = gale_driver_addr_peer(driver, fd, &storage, &len);
	}
	if (error == -ENOTCONN) {
		gale_async_fd_guard_clear_ready(guard);
		return CONNECT_STEP_WAIT;
	}
	gale_async_fd_guard_retain_ready(guard);
	if (error == 0)
		return CONNECT_STEP_DONE;
	future->priv_error_last = error;
	connect_attempt_abandon(future);
	return CONNECT_STEP_FAILED;
}

/* Waits on the attempt in flight: 0 (connected), GALE_PENDING, or the attempt's error
 * (the attempt is then abandoned and the next address may be tried). */
static int connect_attempt_poll(struct gale_tcp_connect *future, struct gale_cx *cx)
{
	assert(future->priv_is_in_flight);
	for (int attempt = 0; attempt < CONNECT_READY_ATTEMPTS_MAX; attempt++) {
		struct gale_async_fd_guard guard;
		int rc = gale_async_fd_poll_write_ready(&future->priv_async_fd, cx, &guard);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0) {
			future->priv_error_last = rc;
			connect_attempt_abandon(future);
			return rc;
		}
		enum connect_step step = connect_attempt_check(future, &guard);
		if (step == CONNECT_STEP_DONE)
			return 0;
		if (step == CONNECT_STEP_FAILED)
			return future->priv_error_last;
	}
	return gale__tcp_yield(cx);
}

int gale_tcp_connect_poll(struct gale_tcp_connect *future, struct gale_cx *cx,
			  struct gale_tcp_stream *stream_out)
{
	assert(future != NULL && cx != NULL);
	assert(stream_out != NULL);
	assert(!future->priv_is_done && "connect polled after completion");
	for (;;) {
		if (!future->priv_is_in_flight) {
			if (future->priv_addr_index == future->priv_addr_count) {
				future->priv_is_done = true;
				return future->priv_error_last;
			}
			if (connect_attempt_start(future) == CONNECT_STEP_FAILED)
				continue;
		}
		int rc = connect_attempt_poll(future, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc == 0) {
			future->priv_is_in_flight = false;
			future->priv_is_done = true;
			gale__tcp_stream_adopt(stream_out, &future->priv_async_fd);
			return 0;
		}
		/* This address failed (error kept in priv_error_last): try the next one. */
		assert(rc < 0 && !future->priv_is_in_flight);
	}
}

void gale_tcp_connect_deinit(struct gale_tcp_connect *future)
{
	assert(future != NULL);
	if (future->priv_is_in_flight)
		connect_attempt_abandon(future);
}

/* ==== Connect by name (resolve.h): resolve, then one connect future per address ======== */

void gale_tcp_connect_host_init(struct gale_tcp_connect_host *future,
				struct gale_runtime *runtime, const char *text)
{
	assert(future != NULL && runtime != NULL && text != NULL);
	memset(future, 0, sizeof(*future));
	gale_resolve_init(&future->priv_resolve, runtime, text);
	(void)snprintf(future->priv_text, sizeof(future->priv_text), "%s", text);
}

void gale_tcp_connect_host_bind(struct gale_tcp_connect_host *future,
				const struct gale_socket_addr *local)
{
	assert(future != NULL);
	assert(!future->priv_is_connecting && !future->priv_is_done);
	future->priv_local = local;
}

/* Starts the connect to the next address (one address per connect future, so each
 * attempt's own outcome is kept). */
static void connect_host_attempt_start(struct gale_tcp_connect_host *future)
{
	struct gale_resolve *resolve = &future->priv_resolve;
	assert(future->priv_attempts_count < resolve->addr_count);
	gale_tcp_connect_init(&future->priv_connect,
			      gale_resolve_query_runtime(&resolve->priv_query),
			      &resolve->addrs[future->priv_attempts_count], 1);
	gale_tcp_connect_bind(&future->priv_connect, future->priv_local);
	future->priv_errors[future->priv_attempts_count++] = GALE_PENDING;
	future->priv_is_connecting = true;
}

int gale_tcp_connect_host_poll(struct gale_tcp_connect_host *future, struct gale_cx *cx,
			       struct gale_tcp_stream *stream_out)
{
	assert(future != NULL && cx != NULL && stream_out != NULL);
	assert(!future->priv_is_done && "connect polled after completion");
	if (future->priv_attempts_count == 0) {
		int rc = gale_resolve_poll(&future->priv_resolve, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0) {
			future->priv_is_done = true;
			return rc;
		}
		connect_host_attempt_start(future);
	}
	for (;;) {
		int rc = gale_tcp_connect_poll(&future->priv_connect, cx, stream_out);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		gale_tcp_connect_deinit(&future->priv_connect);
		future->priv_is_connecting = false;
		future->priv_errors[future->priv_attempts_count - 1] = rc;
		if (rc == 0 || future->priv_attempts_count == future->priv_resolve.addr_count) {
			future->priv_is_done = true;
			return rc; /* Connected, or the last address's error. */
		}
		connect_host_attempt_start(future);
	}
}

size_t gale_tcp_connect_host_attempts(const struct gale_tcp_connect_host *future)
{
	assert(future != NULL);
	return future->priv_attempts_count;
}

int gale_tcp_connect_host_attempt_result(const struct gale_tcp_connect_host *future,
					 size_t index)
{
	assert(future != NULL);
	if (index >= future->priv_attempts_count)
		return -EINVAL;
	return future->priv_errors[index];
}

void gale_tcp_connect_host_deinit(struct gale_tcp_connect_host *future)
{
	assert(future != NULL);
	gale_resolve_deinit(&future->priv_resolve);
	if (future->priv_is_connecting)
		gale_tcp_connect_deinit(&future->priv_connect);
	future->priv_is_connecting = false;
}

int gale_tcp_connect_host_describe(const struct gale_tcp_connect_host *future, int rc,
				   char *buf, size_t buf_len)
{
	assert(future != NULL);
	assert(buf != NULL || buf_len == 0);
	size_t attempts = future->priv_attempts_count;
	if (attempts == 0)
		return gale_resolve_describe(&future->priv_resolve, rc, buf, buf_len);
	char last[GALE_SOCKET_ADDR_TEXT_MAX];
	(void)gale_socket_addr_format(&future->priv_resolve.addrs[attempts - 1], last,
				      sizeof(last));
	size_t count = future->priv_resolve.addr_count;
	if (count == 1)
		return snprintf(buf, buf_len, "connecting to %s (%s): %s", future->priv_text,
				last, gale_strerror(rc));
	return snprintf(buf, buf_len, "connecting to %s (%s, the last of %zu addresses): %s",
			future->priv_text, last, count, gale_strerror(rc));
}
