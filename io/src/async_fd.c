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
	async_fd->priv_interest = (uint8_t)interest;
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
	assert(async_fd->priv_guards_live < UINT16_MAX && "65,535 unconsumed guards at once");
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

/* The readiness bit a typed op's short count may clear (0 for the general form). */
static uint32_t async_fd_short_bit(const struct gale__io_op *op)
{
	if (op->kind == GALE__IO_READ)
		return GALE_READY_READ;
	return op->kind == GALE__IO_WRITE ? GALE_READY_WRITE : 0;
}

/* The guard protocol without a guard, in the reactor's one I/O loop (one slot lookup per
 * attempt): TcpStream's every read and write. */
int gale_async_fd_poll_io(struct gale_async_fd *async_fd, struct gale_cx *cx,
			  enum gale_direction direction, gale_async_fd_io_fn *io, void *data,
			  ssize_t *result_out)
{
	assert(async_fd != NULL && io != NULL);
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	if (!async_fd_watches(async_fd, direction))
		return -EINVAL;
	struct gale__io_op op = {.kind = GALE__IO_GENERAL, .fn.io = io, .data = data};
	return gale__reactor_poll_io(async_fd_reactor(async_fd), async_fd->priv_token, direction,
				     NULL, cx, &op, result_out);
}

/* The typed polls: op in direction's slot; a count goes to *len_out, an error is returned. */
static int async_fd_poll_typed(struct gale_async_fd *async_fd, struct gale_cx *cx,
			       enum gale_direction direction, const struct gale__io_op *op,
			       size_t *len_out)
{
	assert(async_fd != NULL && len_out != NULL);
	*len_out = 0;
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	if (!async_fd_watches(async_fd, direction))
		return -EINVAL;
	return gale__reactor_poll_typed(async_fd_reactor(async_fd), async_fd->priv_token, cx, op,
					len_out);
}

/* gale_async_fd_poll_read(), inlined into it and into the AsyncRead entry below (an
 * exported function is not inlined across its own file: it could be interposed). */
static GALE__ALWAYS_INLINE int async_fd_poll_read(struct gale_async_fd *async_fd,
						  struct gale_cx *cx,
						  gale_async_fd_read_fn *read_fn, void *data,
						  void *buf, size_t len, size_t *len_read_out)
{
	assert(buf != NULL || len == 0);
	if (read_fn == NULL && async_fd->priv_is_open &&
	    (async_fd->priv_interest & GALE_READY_READ) != 0)
		return gale__reactor_poll_read(async_fd_reactor(async_fd), async_fd->priv_token,
					       cx, buf, len, len_read_out);
	struct gale__io_op op = {
		.kind = GALE__IO_READ, .fn.read = read_fn, .data = data, .buf.read = buf,
		.len = len};
	return async_fd_poll_typed(async_fd, cx, GALE_DIRECTION_READ, &op, len_read_out);
}

int gale_async_fd_poll_read(struct gale_async_fd *async_fd, struct gale_cx *cx,
			    gale_async_fd_read_fn *read_fn, void *data, void *buf, size_t len,
			    size_t *len_read_out)
{
	return async_fd_poll_read(async_fd, cx, read_fn, data, buf, len, len_read_out);
}

int gale_async_fd_poll_write(struct gale_async_fd *async_fd, struct gale_cx *cx,
			     gale_async_fd_write_fn *write_fn, void *data, const void *buf,
			     size_t len, size_t *len_written_out)
{
	assert(buf != NULL || len == 0);
	if (write_fn == NULL && async_fd->priv_is_open &&
	    (async_fd->priv_interest & GALE_READY_WRITE) != 0)
		return gale__reactor_poll_write(async_fd_reactor(async_fd), async_fd->priv_token,
						cx, buf, len, len_written_out);
	struct gale__io_op op = {
		.kind = GALE__IO_WRITE, .fn.write = write_fn, .data = data, .buf.write = buf,
		.len = len};
	return async_fd_poll_typed(async_fd, cx, GALE_DIRECTION_WRITE, &op, len_written_out);
}

/* The AsyncRead entry: gale_async_fd_poll_read() inlined. */
static int async_fd_reader_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct gale_async_fd *async_fd = self;
	assert(async_fd != NULL && rb != NULL);
	if (gale_read_buf_is_full(rb))
		return async_fd->priv_is_open ? 0 : GALE_E_CLOSED;
	size_t n = 0;
	int rc = async_fd_poll_read(async_fd, cx, NULL, NULL, gale_read_buf_unfilled(rb),
				    gale_read_buf_remaining(rb), &n);
	/* n <= the space offered: the driver wrapper checked it (gale_async_read_poll again). */
	rb->len_filled += n;
	return rc;
}

static const struct gale_async_read_ops async_fd_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "async_fd",
	.poll_read = async_fd_reader_poll_read,
};

struct gale_async_read gale_async_fd_reader(struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	struct gale_async_read reader = {&async_fd_read_ops, async_fd};
	return reader;
}

int gale_async_fd_stream_set(struct gale_async_fd *async_fd)
{
	assert(async_fd != NULL);
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	gale__reactor_stream_set(async_fd_reactor(async_fd), async_fd->priv_token);
	return 0;
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

/* try_io, try_read and try_write: one attempt on the guard's observation, then consume. */
static ssize_t async_fd_guard_attempt(struct gale_async_fd_guard *guard,
				      const struct gale__io_op *op)
{
	assert(guard != NULL && guard->async_fd != NULL);
	assert(op != NULL);
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
	/* The attempt clears the reactor's readiness itself on -EAGAIN; the guard then stops
	 * vouching for any bit, as after gale_async_fd_guard_clear_ready(). */
	ssize_t result = gale__reactor_attempt(async_fd_reactor(async_fd), async_fd->priv_token,
					       guard->event, op);
	if (result == -EAGAIN)
		guard->priv_ready_cleared = UINT32_MAX;
	else if (result >= 0 && (size_t)result < op->len &&
		 gale_reactor_is_registered(async_fd_reactor(async_fd), async_fd->priv_token) &&
		 (gale_reactor_ready_get(async_fd_reactor(async_fd), async_fd->priv_token) &
		  async_fd_short_bit(op)) == 0)
		guard->priv_ready_cleared |= async_fd_short_bit(op); /* A short count cleared it. */
	(void)async_fd_guard_consume(guard);
	return result;
}

ssize_t gale_async_fd_guard_try_io(struct gale_async_fd_guard *guard, gale_async_fd_io_fn *io,
				   void *data)
{
	assert(io != NULL);
	struct gale__io_op op = {.kind = GALE__IO_GENERAL, .fn.io = io, .data = data};
	return async_fd_guard_attempt(guard, &op);
}

ssize_t gale_async_fd_guard_try_read(struct gale_async_fd_guard *guard,
				     gale_async_fd_read_fn *read_fn, void *data, void *buf,
				     size_t len)
{
	assert(buf != NULL || len == 0);
	struct gale__io_op op = {
		.kind = GALE__IO_READ, .fn.read = read_fn, .data = data, .buf.read = buf,
		.len = len};
	return async_fd_guard_attempt(guard, &op);
}

ssize_t gale_async_fd_guard_try_write(struct gale_async_fd_guard *guard,
				      gale_async_fd_write_fn *write_fn, void *data,
				      const void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	struct gale__io_op op = {
		.kind = GALE__IO_WRITE, .fn.write = write_fn, .data = data, .buf.write = buf,
		.len = len};
	return async_fd_guard_attempt(guard, &op);
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
	struct gale_async_fd *async_fd = future->ready.async_fd;
	if (!async_fd->priv_is_open)
		return GALE_E_CLOSED;
	struct gale_ready_waiter *waiter = &future->ready.waiter;
	if (!gale__interest_is_valid(waiter->interest))
		return -EINVAL;
	/* The same loop as gale_async_fd_poll_io(), waiting through the future's waiter. */
	struct gale__io_op op = {.kind = GALE__IO_GENERAL, .fn.io = future->io,
				 .data = future->data};
	return gale__reactor_poll_io(async_fd_reactor(async_fd), async_fd->priv_token,
				     GALE_DIRECTION_READ, waiter, cx, &op, &future->result);
}

void gale_async_fd_io_deinit(struct gale_async_fd_io *future)
{
	gale_async_fd_ready_deinit(&future->ready);
}
