/* SPDX-License-Identifier: MIT */
/*
 * AsyncFd over the reactor: registration, ready guards, readable/writable/ready futures
 * and async_io. Sits on reactor.c; never calls the OS except through the driver wrappers.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/async_fd.h>
#include <gale/error.h>

#include "io_internal.h"

static struct gale_reactor *async_fd_reactor(const struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	assert(async_fd->priv_runtime != NULL);
	return &async_fd->priv_runtime->reactor;
}

int gale_async_fd_init_with_interest(struct gale_async_fd *async_fd,
				     struct gale_runtime *runtime, int fd, uint32_t interest)
{
	assert(async_fd != NULL);
	assert(runtime != NULL);
	*async_fd = (struct gale_async_fd){.priv_runtime = runtime, .priv_fd = -1};
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	int rc = gale_driver_fd_nonblocking_set(gale_runtime_driver(runtime), fd);
	if (rc != 0)
		return rc;
	uint64_t token;
	rc = gale_reactor_register(&runtime->reactor, fd, interest, &token);
	if (rc != 0)
		return rc;
	async_fd->priv_fd = fd;
	async_fd->priv_token = token;
	async_fd->priv_interest = interest;
	async_fd->priv_is_open = true;
	return 0;
}

int gale_async_fd_init(struct gale_async_fd *async_fd, struct gale_runtime *runtime, int fd)
{
	return gale_async_fd_init_with_interest(async_fd, runtime, fd, GALE_READY_INTEREST_ALL);
}

int gale_async_fd_fd(const struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	return async_fd->priv_is_open ? async_fd->priv_fd : -1;
}

struct gale_runtime *gale_async_fd_runtime(const struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	return async_fd->priv_runtime;
}

uint32_t gale_async_fd_guards_live(const struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	return async_fd->priv_guards_live;
}

/* Deregisters; the fd stays open. A guard still unconsumed here is a programmer error. */
static int async_fd_release(struct gale_async_fd *async_fd, int *fd_out)
{
	assert(async_fd != NULL);
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	assert(async_fd->priv_guards_live == 0 && "AsyncFd released with an unconsumed guard");
	/* The reactor drops the registration even if the driver reports an error. */
	(void)gale_reactor_deregister(async_fd_reactor(async_fd), async_fd->priv_token);
	*fd_out = async_fd->priv_fd;
	async_fd->priv_is_open = false;
	async_fd->priv_fd = -1;
	return 0;
}

int gale_async_fd_into_inner(struct gale_async_fd *async_fd, int *fd_out)
{
	assert(fd_out != NULL);
	return async_fd_release(async_fd, fd_out);
}

int gale_async_fd_close(struct gale_async_fd *async_fd)
{
	int fd;
	int rc = async_fd_release(async_fd, &fd);
	if (rc != 0)
		return rc;
	return gale_driver_close(gale_runtime_driver(async_fd->priv_runtime), fd);
}

/* Hands out a guard for an observed event. */
static void async_fd_guard_fill(struct gale_async_fd *async_fd, struct gale_ready_event event,
				struct gale_async_fd_guard *guard_out)
{
	assert(guard_out != NULL);
	guard_out->async_fd = async_fd;
	guard_out->event = event;
	guard_out->priv_ready_cleared = 0;
	guard_out->priv_is_consumed = false;
	async_fd->priv_guards_live++;
}

/* True when direction is READ or WRITE and the AsyncFd was registered for it. */
static bool async_fd_watches(const struct gale_async_fd *async_fd, enum gale_direction direction)
{
	if (direction == GALE_DIRECTION_READ)
		return (async_fd->priv_interest & GALE_READY_READ) != 0;
	return direction == GALE_DIRECTION_WRITE &&
	       (async_fd->priv_interest & GALE_READY_WRITE) != 0;
}

static int async_fd_poll_direction(struct gale_async_fd *async_fd, struct gale_cx *cx,
				   enum gale_direction direction,
				   struct gale_async_fd_guard *guard_out)
{
	assert(async_fd != NULL && cx != NULL);
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	if (!async_fd_watches(async_fd, direction))
		return -EINVAL;
	struct gale_ready_event event;
	int rc = gale_reactor_poll_ready(async_fd_reactor(async_fd), async_fd->priv_token,
					 direction, cx, &event);
	if (rc == 0)
		async_fd_guard_fill(async_fd, event, guard_out);
	return rc;
}

int gale_async_fd_poll_read_ready(struct gale_async_fd *async_fd, struct gale_cx *cx,
				  struct gale_async_fd_guard *guard_out)
{
	return async_fd_poll_direction(async_fd, cx, GALE_DIRECTION_READ, guard_out);
}

int gale_async_fd_poll_write_ready(struct gale_async_fd *async_fd, struct gale_cx *cx,
				   struct gale_async_fd_guard *guard_out)
{
	return async_fd_poll_direction(async_fd, cx, GALE_DIRECTION_WRITE, guard_out);
}

/* The guard protocol without a guard, in the reactor (one slot lookup per attempt):
 * TcpStream's every read and write. */
int gale_async_fd_poll_io(struct gale_async_fd *async_fd, struct gale_cx *cx,
			  enum gale_direction direction, gale_async_fd_io_fn *io, void *data,
			  ssize_t *result_out)
{
	assert(async_fd != NULL);
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	if (!async_fd_watches(async_fd, direction))
		return -EINVAL;
	return gale__reactor_poll_io(async_fd_reactor(async_fd), async_fd->priv_token, direction,
				     cx, io, data, result_out);
}

uint32_t gale_async_fd_guard_ready(const struct gale_async_fd_guard *guard)
{
	assert(guard != NULL);
	return guard->event.ready & ~guard->priv_ready_cleared;
}

/*
 * Marks the guard used and returns true. Using one twice is the bug "operation on consumed
 * readiness": it goes to the reactor observer's misuse callback when one is installed (the
 * simulator's readiness oracle names it), is asserted otherwise, and returns false: the
 * caller then does nothing further (release builds without an observer included).
 */
static bool async_fd_guard_consume(struct gale_async_fd_guard *guard)
{
	assert(guard != NULL && guard->async_fd != NULL);
	if (guard->priv_is_consumed) {
		bool reported = gale__reactor_misuse(async_fd_reactor(guard->async_fd),
						     "AsyncFd ready guard consumed twice");
		assert(reported && "AsyncFd guard consumed twice");
		(void)reported;
		return false;
	}
	assert(guard->async_fd->priv_guards_live > 0);
	guard->priv_is_consumed = true;
	guard->async_fd->priv_guards_live--;
	return true;
}

void gale_async_fd_guard_clear_ready_matching(struct gale_async_fd_guard *guard,
					      uint32_t ready_bits)
{
	if (!async_fd_guard_consume(guard))
		return;
	/* What the guard reports from now on, whether or not the reactor's tick rule keeps
	 * the readiness: the guard's own claim ends with its clear (Tokio's event.take()). */
	guard->priv_ready_cleared |= ready_bits;
	struct gale_async_fd *async_fd = guard->async_fd;
	if (!async_fd->priv_is_open)
		return;
	struct gale_ready_event event = guard->event;
	event.ready &= ready_bits;
	gale_reactor_clear_ready(async_fd_reactor(async_fd), async_fd->priv_token, event);
}

void gale_async_fd_guard_clear_ready(struct gale_async_fd_guard *guard)
{
	assert(guard != NULL);
	/* Every bit, not just the observed ones: a cleared guard reports nothing (Tokio). */
	gale_async_fd_guard_clear_ready_matching(guard, UINT32_MAX);
}

void gale_async_fd_guard_retain_ready(struct gale_async_fd_guard *guard)
{
	(void)async_fd_guard_consume(guard);
}

ssize_t gale_async_fd_guard_try_io(struct gale_async_fd_guard *guard, gale_async_fd_io_fn *io,
				   void *data)
{
	assert(guard != NULL && guard->async_fd != NULL);
	assert(io != NULL);
	struct gale_async_fd *async_fd = guard->async_fd;
	/* A consumed guard proves nothing: report it and leave the fd alone. */
	if (guard->priv_is_consumed) {
		(void)async_fd_guard_consume(guard);
		return -EINVAL;
	}
	if (!async_fd->priv_is_open) {
		(void)async_fd_guard_consume(guard);
		return GALE_E_CLOSED;
	}
	ssize_t result = io(data, gale_runtime_driver(async_fd->priv_runtime), async_fd->priv_fd);
	if (result == -EAGAIN)
		gale_async_fd_guard_clear_ready(guard);
	else
		gale_async_fd_guard_retain_ready(guard);
	return result;
}

void gale_async_fd_ready_init(struct gale_async_fd_ready *future, struct gale_async_fd *async_fd,
			      uint32_t interest)
{
	assert(future != NULL && async_fd != NULL);
	/* An interest other than READ and/or WRITE is kept: the reactor's poll says -EINVAL. */
	future->async_fd = async_fd;
	gale_ready_waiter_init(&future->waiter, interest);
}

void gale_async_fd_readable_init(struct gale_async_fd_ready *future,
				 struct gale_async_fd *async_fd)
{
	gale_async_fd_ready_init(future, async_fd, GALE_READY_READ);
}

void gale_async_fd_writable_init(struct gale_async_fd_ready *future,
				 struct gale_async_fd *async_fd)
{
	gale_async_fd_ready_init(future, async_fd, GALE_READY_WRITE);
}

int gale_async_fd_ready_poll(struct gale_async_fd_ready *future, struct gale_cx *cx,
			     struct gale_async_fd_guard *guard_out)
{
	assert(future != NULL && cx != NULL);
	struct gale_async_fd *async_fd = future->async_fd;
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	struct gale_ready_event event;
	int rc = gale_reactor_poll_waiter(async_fd_reactor(async_fd), async_fd->priv_token,
					  &future->waiter, cx, &event);
	if (rc == 0)
		async_fd_guard_fill(async_fd, event, guard_out);
	return rc;
}

void gale_async_fd_ready_deinit(struct gale_async_fd_ready *future)
{
	assert(future != NULL && future->async_fd != NULL);
	gale_reactor_waiter_cancel(async_fd_reactor(future->async_fd), &future->waiter);
}

void gale_async_fd_io_init(struct gale_async_fd_io *future, struct gale_async_fd *async_fd,
			   uint32_t interest, gale_async_fd_io_fn *io, void *data)
{
	assert(io != NULL);
	gale_async_fd_ready_init(&future->ready, async_fd, interest);
	future->io = io;
	future->data = data;
	future->result = 0;
}

int gale_async_fd_io_poll(struct gale_async_fd_io *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	/*
	 * Readiness cleared after -EAGAIN normally makes the next ready poll wait for a new
	 * edge. But HUP/ERROR are final and keep the fd "ready", so an attempt that keeps
	 * reporting -EAGAIN (a fault-injecting driver may) would spin here: after two
	 * attempts, yield to the executor instead (wake ourselves, return pending).
	 */
	for (int attempt = 0; attempt < GALE__IO_ATTEMPTS_MAX; attempt++) {
		struct gale_async_fd_guard guard;
		int rc = gale_async_fd_ready_poll(&future->ready, cx, &guard);
		if (rc != 0)
			return rc;
		ssize_t result = gale_async_fd_guard_try_io(&guard, future->io, future->data);
		if (result != -EAGAIN) {
			future->result = result;
			return 0;
		}
	}
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

void gale_async_fd_io_deinit(struct gale_async_fd_io *future)
{
	gale_async_fd_ready_deinit(&future->ready);
}
