/* SPDX-License-Identifier: MIT */
/*
 * TcpListener (tcp.h): bind/listen through the driver, and accept with the error policy:
 * aborted handshakes are skipped; running out of descriptors or memory starts a back-off
 * on a runtime timer (10 ms doubling to 1 s, reset by a success) instead of spinning on
 * a listener that stays readable, or giving up on it.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/tcp.h>
#include <gale/time.h>

#include "net_internal.h"

/* Connections taken (or skipped) per poll before yielding to other tasks: a listener with
 * a deep backlog of aborted handshakes must not monopolise the thread. */
#define ACCEPT_ATTEMPTS_PER_POLL_MAX 64

static struct gale_runtime *listener_runtime(const struct gale_tcp_listener *listener)
{
	assert(listener != NULL);
	struct gale_runtime *runtime = gale_async_fd_runtime(&listener->priv_async_fd);
	assert(runtime != NULL);
	return runtime;
}

static bool listener_is_open(const struct gale_tcp_listener *listener)
{
	return gale_async_fd_fd(&listener->priv_async_fd) >= 0;
}

/* socket, SO_REUSEADDR, bind, listen: the new listening fd, or -errno (nothing open). */
static int listener_socket_open(struct gale_driver *driver, const struct gale_socket_addr *addr,
				int backlog)
{
	assert(driver != NULL && addr != NULL);
	assert(backlog > 0);
	int family = gale_socket_addr_family(addr);
	if (family < 0)
		return family;
	int fd = gale_driver_socket(driver, family, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	/* A restarted server must rebind while old connections sit in TIME_WAIT. */
	int rc = gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_REUSEADDR, 1);
	if (rc == 0)
		rc = gale_driver_bind(driver, fd, (const struct sockaddr *)&addr->storage,
				      addr->len);
	if (rc == 0)
		rc = gale_driver_listen(driver, fd, backlog);
	if (rc < 0) {
		(void)gale_driver_close(driver, fd);
		return rc;
	}
	return fd;
}

int gale_tcp_listener_bind(struct gale_tcp_listener *listener, struct gale_runtime *runtime,
			   const struct gale_socket_addr *addr, int backlog)
{
	assert(listener != NULL && runtime != NULL);
	assert(addr != NULL);
	*listener = (struct gale_tcp_listener){0};
	if (backlog < 0)
		return -EINVAL;
	struct gale_driver *driver = gale_runtime_driver(runtime);
	int fd = listener_socket_open(driver, addr,
				      backlog > 0 ? backlog : GALE_TCP_LISTENER_BACKLOG_DEFAULT);
	if (fd < 0)
		return fd;
	/* Only reads matter: a listener becomes readable when a connection is pending. */
	int rc = gale_async_fd_init_with_interest(&listener->priv_async_fd, runtime, fd,
						  GALE_READY_READ);
	if (rc < 0) {
		(void)gale_driver_close(driver, fd);
		*listener = (struct gale_tcp_listener){0};
	}
	return rc;
}

/*
 * Is fd a listening TCP socket? Asked through the driver, cheapest question first, each
 * answer naming what is wrong: getsockname (-EBADF, -ENOTSOCK; the family), TCP_NODELAY
 * (only TCP has it: -ENOPROTOOPT elsewhere, reported as -EPROTOTYPE), SO_ACCEPTCONN.
 */
static int listener_fd_check(struct gale_driver *driver, int fd)
{
	assert(driver != NULL);
	struct gale_socket_addr addr;
	int rc = gale__socket_addr_query(driver, fd, gale_driver_addr_local, &addr);
	if (rc < 0)
		return rc;
	int value = 0;
	rc = gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_NODELAY, &value);
	if (rc < 0)
		return rc == -ENOPROTOOPT ? -EPROTOTYPE : rc;
	rc = gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value);
	if (rc < 0)
		return rc;
	return value != 0 ? 0 : -EINVAL;
}

int gale_tcp_listener_from_fd(struct gale_tcp_listener *listener, struct gale_runtime *runtime,
			      int fd)
{
	assert(listener != NULL && runtime != NULL);
	*listener = (struct gale_tcp_listener){0};
	int rc = listener_fd_check(gale_runtime_driver(runtime), fd);
	if (rc < 0)
		return rc;
	/* As bind does: READ only. The AsyncFd makes the fd non-blocking first. */
	rc = gale_async_fd_init_with_interest(&listener->priv_async_fd, runtime, fd,
					      GALE_READY_READ);
	if (rc < 0)
		*listener = (struct gale_tcp_listener){0};
	return rc;
}

int gale_tcp_listener_bind_text(struct gale_tcp_listener *listener, struct gale_runtime *runtime,
				const char *text, int backlog)
{
	assert(listener != NULL && text != NULL);
	*listener = (struct gale_tcp_listener){0};
	struct gale_socket_addr addr;
	int rc = gale_socket_addr_parse(text, &addr);
	if (rc < 0)
		return rc;
	return gale_tcp_listener_bind(listener, runtime, &addr, backlog);
}

int gale_tcp_listener_local_addr(const struct gale_tcp_listener *listener,
				 struct gale_socket_addr *addr_out)
{
	assert(listener != NULL && addr_out != NULL);
	if (!listener_is_open(listener))
		return GALE_E_CLOSED;
	return gale__socket_addr_query(gale_runtime_driver(listener_runtime(listener)),
				       gale_tcp_listener_fd(listener), gale_driver_addr_local,
				       addr_out);
}

static void accept_backoff_unlink(struct gale_tcp_listener *listener,
				  struct gale_tcp_accept *future);

/* Wakes everyone waiting on a back-off timer (they then see GALE_E_CLOSED) and disarms. */
static void listener_backoff_wake_all(struct gale_tcp_listener *listener)
{
	gale_sleep_deinit(&listener->priv_sleep);
	struct gale_waker waker = listener->priv_backoff_waker;
	listener->priv_backoff_waker = gale_waker_none();
	gale_waker_wake(&waker);
	while (listener->priv_backoff_head != NULL) {
		struct gale_tcp_accept *future = listener->priv_backoff_head;
		waker = future->priv_backoff_waker;
		accept_backoff_unlink(listener, future);
		gale_sleep_deinit(&future->priv_sleep);
		gale_waker_wake(&waker);
	}
}

int gale_tcp_listener_close(struct gale_tcp_listener *listener)
{
	assert(listener != NULL);
	if (!listener_is_open(listener))
		return GALE_E_CLOSED;
	listener_backoff_wake_all(listener);
	/* Deregistering wakes the readiness waiters (poll_accept's slot and the futures'). */
	return gale_async_fd_close(&listener->priv_async_fd);
}

int gale_tcp_listener_fd(const struct gale_tcp_listener *listener)
{
	assert(listener != NULL);
	return gale_async_fd_fd(&listener->priv_async_fd);
}

struct gale_tcp_listener_stats gale_tcp_listener_stats_get(const struct gale_tcp_listener *listener)
{
	assert(listener != NULL);
	return listener->priv_stats;
}

/* ---- Accept --------------------------------------------------------------------------- */

/* Where an accepting poll waits: the listener's own slot and timer, or a future's. */
struct accept_waits {
	struct gale_async_fd_ready *ready; /* NULL: the read-direction waker slot. */
	struct gale_sleep *sleep;          /* The back-off timer to use. */
	struct gale_tcp_accept *future;    /* NULL: poll_accept (the listener's own waker). */
};

static bool accept_error_is_resource(int rc)
{
	return rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM;
}

static bool accept_error_is_skipped(int rc)
{
	return rc == -ECONNABORTED || rc == -EPROTO;
}

/* Out of descriptors or memory: wait before the next accept, twice as long as last time. */
static void accept_backoff_start(struct gale_tcp_listener *listener)
{
	int64_t backoff_ns = listener->priv_backoff_ns * 2;
	if (backoff_ns < GALE_TCP_ACCEPT_BACKOFF_NS_MIN)
		backoff_ns = GALE_TCP_ACCEPT_BACKOFF_NS_MIN;
	if (backoff_ns > GALE_TCP_ACCEPT_BACKOFF_NS_MAX)
		backoff_ns = GALE_TCP_ACCEPT_BACKOFF_NS_MAX;
	listener->priv_backoff_ns = backoff_ns;
	int64_t now_ns = gale_runtime_now_ns(listener_runtime(listener));
	listener->priv_retry_deadline_ns = now_ns + backoff_ns;
	listener->priv_stats.backoffs_count++;
}

static void accept_backoff_unlink(struct gale_tcp_listener *listener,
				  struct gale_tcp_accept *future)
{
	assert(future->priv_is_backing_off);
	if (future->priv_backoff_prev != NULL)
		future->priv_backoff_prev->priv_backoff_next = future->priv_backoff_next;
	else
		listener->priv_backoff_head = future->priv_backoff_next;
	if (future->priv_backoff_next != NULL)
		future->priv_backoff_next->priv_backoff_prev = future->priv_backoff_prev;
	future->priv_backoff_next = NULL;
	future->priv_backoff_prev = NULL;
	future->priv_is_backing_off = false;
	future->priv_backoff_waker = gale_waker_none();
}

/* Remembers who waits on a back-off timer, so close can wake it (the timer holds the
 * waker too, but close disarms the timer). */
static void accept_backoff_remember(struct gale_tcp_listener *listener,
				    const struct accept_waits *waits, struct gale_waker waker)
{
	struct gale_tcp_accept *future = waits->future;
	if (future == NULL) {
		listener->priv_backoff_waker = waker;
		return;
	}
	future->priv_backoff_waker = waker;
	if (future->priv_is_backing_off)
		return;
	future->priv_backoff_prev = NULL;
	future->priv_backoff_next = listener->priv_backoff_head;
	if (listener->priv_backoff_head != NULL)
		listener->priv_backoff_head->priv_backoff_prev = future;
	listener->priv_backoff_head = future;
	future->priv_is_backing_off = true;
}

static void accept_backoff_forget(struct gale_tcp_listener *listener,
				  const struct accept_waits *waits)
{
	/* An armed timer left behind would keep the runtime busy (deinit -EBUSY). */
	gale_sleep_deinit(waits->sleep);
	if (waits->future == NULL)
		listener->priv_backoff_waker = gale_waker_none();
	else if (waits->future->priv_is_backing_off)
		accept_backoff_unlink(listener, waits->future);
}

/* While backing off: 0 once the deadline passed (timer disarmed), else GALE_PENDING with
 * the timer armed for the deadline. */
static int accept_backoff_poll(struct gale_tcp_listener *listener,
			       const struct accept_waits *waits, struct gale_cx *cx)
{
	assert(listener != NULL && waits->sleep != NULL);
	struct gale_runtime *runtime = listener_runtime(listener);
	if (listener->priv_backoff_ns == 0 ||
	    gale_runtime_now_ns(runtime) >= listener->priv_retry_deadline_ns) {
		accept_backoff_forget(listener, waits);
		return 0;
	}
	struct gale_sleep *sleep = waits->sleep;
	/* Re-initialising an armed sleep would corrupt the timer heap: move it instead. */
	if (sleep->runtime == NULL)
		gale_sleep_init_until(sleep, runtime, listener->priv_retry_deadline_ns);
	else if (sleep->timer.deadline_ns != listener->priv_retry_deadline_ns)
		gale_sleep_reset(sleep, listener->priv_retry_deadline_ns);
	int rc = gale_sleep_poll(sleep, cx);
	if (rc == GALE_PENDING)
		accept_backoff_remember(listener, waits, cx->waker);
	else
		accept_backoff_forget(listener, waits); /* The clock moved past the deadline. */
	return rc;
}

static int accept_ready_poll(struct gale_tcp_listener *listener, struct accept_waits *waits,
			     struct gale_cx *cx, struct gale_async_fd_guard *guard_out)
{
	if (waits->ready != NULL)
		return gale_async_fd_ready_poll(waits->ready, cx, guard_out);
	return gale_async_fd_poll_read_ready(&listener->priv_async_fd, cx, guard_out);
}

/* A new connection's fd: register it as a stream. -ENOSPC etc. close it (it is lost). */
static int accept_stream_make(struct gale_tcp_listener *listener, int fd,
			      struct gale_tcp_stream *stream_out)
{
	struct gale_runtime *runtime = listener_runtime(listener);
	int rc = gale_tcp_stream_from_fd(stream_out, runtime, fd);
	if (rc < 0) {
		(void)gale_driver_close(gale_runtime_driver(runtime), fd);
		return rc;
	}
	listener->priv_backoff_ns = 0;
	listener->priv_stats.accepts_count++;
	return 0;
}

/*
 * One accept call under a readiness guard. Returns the new fd; -EAGAIN (readiness
 * cleared, wait again); a skipped or resource error (readiness kept: more may be pending);
 * or another driver error.
 */
static int accept_attempt(struct gale_tcp_listener *listener, struct gale_async_fd_guard *guard,
			  struct sockaddr_storage *storage, socklen_t *len)
{
	listener->priv_stats.accept_attempts_count++;
	int fd = gale_driver_accept(gale_runtime_driver(listener_runtime(listener)),
				    gale_tcp_listener_fd(listener), storage, len);
	if (fd == -EAGAIN)
		gale_async_fd_guard_clear_ready(guard);
	else
		gale_async_fd_guard_retain_ready(guard);
	return fd;
}

/* The accepted fd becomes stream_out; the kernel's address becomes peer_addr_out. */
static int accept_finish(struct gale_tcp_listener *listener, int fd,
			 const struct sockaddr_storage *storage, socklen_t len,
			 struct gale_tcp_stream *stream_out, struct gale_socket_addr *peer_addr_out)
{
	assert(fd >= 0 && storage != NULL);
	int rc = gale__socket_addr_from_driver(storage, len, peer_addr_out);
	if (rc < 0) {
		(void)gale_driver_close(gale_runtime_driver(listener_runtime(listener)), fd);
		return rc;
	}
	return accept_stream_make(listener, fd, stream_out);
}

static int accept_poll(struct gale_tcp_listener *listener, struct accept_waits *waits,
		       struct gale_cx *cx, struct gale_tcp_stream *stream_out,
		       struct gale_socket_addr *peer_addr_out)
{
	assert(listener != NULL && cx != NULL);
	assert(stream_out != NULL);
	if (!listener_is_open(listener))
		return GALE_E_CLOSED;
	for (int i = 0; i < ACCEPT_ATTEMPTS_PER_POLL_MAX; i++) {
		int rc = accept_backoff_poll(listener, waits, cx);
		if (rc != 0)
			return rc;
		struct gale_async_fd_guard guard;
		rc = accept_ready_poll(listener, waits, cx, &guard);
		if (rc != 0)
			return rc;
		struct sockaddr_storage storage;
		socklen_t len = sizeof(storage);
		int fd = accept_attempt(listener, &guard, &storage, &len);
		if (fd >= 0)
			return accept_finish(listener, fd, &storage, len, stream_out,
					     peer_addr_out);
		if (accept_error_is_skipped(fd))
			listener->priv_stats.skips_count++;
		else if (accept_error_is_resource(fd))
			accept_backoff_start(listener);
		else if (fd != -EAGAIN)
			return fd;
	}
	return gale__tcp_yield(cx);
}

int gale_tcp_listener_poll_accept(struct gale_tcp_listener *listener, struct gale_cx *cx,
				  struct gale_tcp_stream *stream_out,
				  struct gale_socket_addr *peer_addr_out)
{
	assert(listener != NULL);
	struct accept_waits waits = {.ready = NULL, .sleep = &listener->priv_sleep, .future = NULL};
	return accept_poll(listener, &waits, cx, stream_out, peer_addr_out);
}

void gale_tcp_accept_init(struct gale_tcp_accept *future, struct gale_tcp_listener *listener)
{
	assert(future != NULL && listener != NULL);
	*future = (struct gale_tcp_accept){.priv_listener = listener};
	gale_async_fd_ready_init(&future->priv_ready, &listener->priv_async_fd, GALE_READY_READ);
}

int gale_tcp_accept_poll(struct gale_tcp_accept *future, struct gale_cx *cx,
			 struct gale_tcp_stream *stream_out, struct gale_socket_addr *peer_addr_out)
{
	assert(future != NULL && future->priv_listener != NULL);
	assert(!future->priv_is_done && "accept polled after completion");
	struct accept_waits waits = {.ready = &future->priv_ready, .sleep = &future->priv_sleep,
				     .future = future};
	int rc = accept_poll(future->priv_listener, &waits, cx, stream_out, peer_addr_out);
	if (rc != GALE_PENDING)
		future->priv_is_done = true;
	return rc;
}

void gale_tcp_accept_deinit(struct gale_tcp_accept *future)
{
	assert(future != NULL);
	gale_sleep_deinit(&future->priv_sleep);
	struct gale_tcp_listener *listener = future->priv_listener;
	if (listener == NULL)
		return;
	if (future->priv_is_backing_off)
		accept_backoff_unlink(listener, future);
	/* Closing the listener unlinked every waiter; a never-opened one linked none. */
	if (gale_async_fd_runtime(&listener->priv_async_fd) != NULL)
		gale_async_fd_ready_deinit(&future->priv_ready);
}
