/* SPDX-License-Identifier: MIT */
/*
 * The driver wrappers: the only place that dereferences driver->ops (SQLite os.c).
 * Each checks its arguments (bad values are -EINVAL for every driver alike; NULL
 * pointers are asserted), supplies the fallback of optional ops, and forwards. The
 * driver's answers that could overrun a caller's buffer (a count above len, more events
 * than events_cap) are checked in every build type (GALE__CONTRACT). The wrappers with
 * nothing to check are generated from GALE_DRIVER_OP_MAP, and so are the op names and the
 * forwards of the forwarding base that decorators (sim_fault.c, the scenario runner's
 * driver) start from.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stddef.h>

#include <gale/driver.h>

#include "io_internal.h"

static inline const struct gale_driver_ops *driver_ops(const struct gale_driver *driver)
{
	assert(driver != NULL);
	assert(driver->ops != NULL);
	assert(driver->ops->abi_version == GALE_DRIVER_ABI_VERSION);
	return driver->ops;
}

/* The wrappers with nothing to check or supply: the op's result, exactly. */
#define DRIVER_WRAPPER_plain(op, ret, params, args)                                        \
	ret gale_driver_##op params                                                        \
	{                                                                                  \
		return driver_ops(driver)->op args;                                        \
	}
#define DRIVER_WRAPPER_checked(op, ret, params, args) /* Written out below. */
#define DRIVER_WRAPPER(op, OP, ret, fd, wrapper, params, args)                             \
	DRIVER_WRAPPER_##wrapper(op, ret, params, args)
GALE_DRIVER_OP_MAP(DRIVER_WRAPPER, DRIVER_WRAPPER)

/* A driver's byte count must fit what it was offered (a larger one overruns the caller). */
static inline ssize_t driver_count_check(const struct gale_driver *driver, const char *op,
					 ssize_t rc, size_t len)
{
	GALE__CONTRACT(rc < 0 || (size_t)rc <= len, "driver '%s' %s returned %zd for %zu bytes",
		       driver->ops->name, op, rc, len);
	return rc;
}

int gale_driver_fd_register(struct gale_driver *driver, int fd, uint64_t token, uint32_t interest)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	return ops->fd_register(driver, fd, token, interest);
}

int gale_driver_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
			      uint32_t interest)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	return ops->fd_reregister(driver, fd, token, interest);
}

int gale_driver_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		     int64_t timeout_ns)
{
	if (events_cap <= 0 || timeout_ns < -1)
		return -EINVAL;
	return gale__driver_wait(driver, events, events_cap, timeout_ns);
}

int gale_driver_wake(struct gale_driver *driver)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	return ops->wake != NULL ? ops->wake(driver) : -ENOTSUP;
}

ssize_t gale_driver_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	return gale__driver_read(driver, fd, buf, len);
}

ssize_t gale_driver_write(struct gale_driver *driver, int fd, const void *buf, size_t len)
{
	return gale__driver_write(driver, fd, buf, len);
}

/* Tokio's default poll_write_vectored: the first non-empty buffer, or an empty one. */
static const struct iovec *iov_first_nonempty(const struct iovec *iov, int iov_count)
{
	for (int i = 0; i < iov_count; i++) {
		if (iov[i].iov_len > 0)
			return &iov[i];
	}
	return NULL;
}

ssize_t gale_driver_readv(struct gale_driver *driver, int fd, const struct iovec *iov,
			  int iov_count)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (iov_count < 0)
		return -EINVAL;
	assert(iov != NULL || iov_count == 0);
	if (ops->readv != NULL)
		return ops->readv(driver, fd, iov, iov_count);
	const struct iovec *first = iov_first_nonempty(iov, iov_count);
	if (first == NULL)
		return ops->read(driver, fd, NULL, 0);
	return ops->read(driver, fd, first->iov_base, first->iov_len);
}

ssize_t gale_driver_writev(struct gale_driver *driver, int fd, const struct iovec *iov,
			   int iov_count)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (iov_count < 0)
		return -EINVAL;
	assert(iov != NULL || iov_count == 0);
	if (ops->writev != NULL)
		return ops->writev(driver, fd, iov, iov_count);
	const struct iovec *first = iov_first_nonempty(iov, iov_count);
	if (first == NULL)
		return ops->write(driver, fd, NULL, 0);
	return ops->write(driver, fd, first->iov_base, first->iov_len);
}

ssize_t gale_driver_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
			 uint32_t flags)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if ((flags & ~GALE_RECV_PEEK) != 0)
		return -EINVAL;
	assert(buf != NULL || len == 0);
	return driver_count_check(driver, "recv", ops->recv(driver, fd, buf, len, flags), len);
}

ssize_t gale_driver_send(struct gale_driver *driver, int fd, const void *buf, size_t len,
			 uint32_t flags)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (flags != 0)
		return -EINVAL;
	assert(buf != NULL || len == 0);
	return driver_count_check(driver, "send", ops->send(driver, fd, buf, len, flags), len);
}

int gale_driver_bind(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		     socklen_t addr_len)
{
	assert(addr != NULL);
	return driver_ops(driver)->bind(driver, fd, addr, addr_len);
}

int gale_driver_accept(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
		       socklen_t *addr_len_out)
{
	assert((addr_out == NULL) == (addr_len_out == NULL));
	return driver_ops(driver)->accept(driver, fd, addr_out, addr_len_out);
}

int gale_driver_connect(struct gale_driver *driver, int fd, const struct sockaddr *addr,
			socklen_t addr_len)
{
	assert(addr != NULL);
	return driver_ops(driver)->connect(driver, fd, addr, addr_len);
}

int gale_driver_sockopt_get(struct gale_driver *driver, int fd, enum gale_sockopt opt,
			    int *value_out)
{
	assert(value_out != NULL);
	return driver_ops(driver)->sockopt_get(driver, fd, opt, value_out);
}

int gale_driver_addr_local(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			   socklen_t *addr_len_out)
{
	assert(addr_out != NULL && addr_len_out != NULL);
	return driver_ops(driver)->addr_local(driver, fd, addr_out, addr_len_out);
}

int gale_driver_addr_peer(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			  socklen_t *addr_len_out)
{
	assert(addr_out != NULL && addr_len_out != NULL);
	return driver_ops(driver)->addr_peer(driver, fd, addr_out, addr_len_out);
}

int gale_driver_shutdown(struct gale_driver *driver, int fd, int how)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (how < GALE_SHUTDOWN_READ || how > GALE_SHUTDOWN_BOTH)
		return -EINVAL;
	return ops->shutdown(driver, fd, how);
}

int gale_driver_socketpair(struct gale_driver *driver, int fds_out[2])
{
	assert(fds_out != NULL);
	return driver_ops(driver)->socketpair(driver, fds_out);
}

int gale_driver_pipe(struct gale_driver *driver, int fds_out[2])
{
	assert(fds_out != NULL);
	return driver_ops(driver)->pipe(driver, fds_out);
}

void gale_driver_deinit(struct gale_driver *driver)
{
	if (driver == NULL || driver->ops == NULL)
		return;
	driver->ops->deinit(driver);
}

uint32_t gale_driver_caps(struct gale_driver *driver)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	return ops->caps != NULL ? ops->caps(driver) : 0;
}

const char *gale_driver_name(const struct gale_driver *driver)
{
	return driver_ops(driver)->name;
}

const char *gale_driver_op_name(enum gale_driver_op op)
{
	static const char *const names[GALE_DRIVER_OP_COUNT_] = {
#define OP_NAME(op, OP, ...) [GALE_DRIVER_OP_##OP] = #op,
		GALE_DRIVER_OP_MAP(OP_NAME, GALE_DRIVER_OP_MAP_SKIP)
#undef OP_NAME
	};
	if ((int)op <= 0 || op >= GALE_DRIVER_OP_COUNT_)
		return "unknown";
	return names[op];
}

/*
 * The ABI, pinned by a second copy on purpose: compiled drivers know the slots, and traces,
 * corpora and fault plans store the ids, so the list may only grow at its end.
 */
#define OP_SLOT(op) (offsetof(struct gale_driver_ops, op) / sizeof(void (*)(void)))
#define OP_PIN(op, OP, id)                                                                 \
	static_assert(GALE_DRIVER_OP_##OP == (id) &&                                       \
			      OP_SLOT(op) == OP_SLOT(fd_register) + (id) - 1,              \
		      #op " moved: GALE_DRIVER_OP_MAP is append-only")
OP_PIN(fd_register, FD_REGISTER, 1);
OP_PIN(fd_reregister, FD_REREGISTER, 2);
OP_PIN(fd_deregister, FD_DEREGISTER, 3);
OP_PIN(wait, WAIT, 4);
OP_PIN(wake, WAKE, 5);
OP_PIN(read, READ, 6);
OP_PIN(write, WRITE, 7);
OP_PIN(readv, READV, 8);
OP_PIN(writev, WRITEV, 9);
OP_PIN(recv, RECV, 10);
OP_PIN(send, SEND, 11);
OP_PIN(socket, SOCKET, 12);
OP_PIN(bind, BIND, 13);
OP_PIN(listen, LISTEN, 14);
OP_PIN(accept, ACCEPT, 15);
OP_PIN(connect, CONNECT, 16);
OP_PIN(socket_error_take, SOCKET_ERROR_TAKE, 17);
OP_PIN(sockopt_set, SOCKOPT_SET, 18);
OP_PIN(sockopt_get, SOCKOPT_GET, 19);
OP_PIN(addr_local, ADDR_LOCAL, 20);
OP_PIN(addr_peer, ADDR_PEER, 21);
OP_PIN(shutdown, SHUTDOWN, 22);
OP_PIN(close, CLOSE, 23);
OP_PIN(socketpair, SOCKETPAIR, 24);
OP_PIN(pipe, PIPE, 25);
OP_PIN(fd_nonblocking_set, FD_NONBLOCKING_SET, 26);
static_assert(OP_SLOT(fd_register) == 2 && OP_SLOT(now_ns) == OP_SLOT(fd_register) + 26 &&
		      OP_SLOT(deinit) == OP_SLOT(now_ns) + 1,
	      "now_ns and deinit moved: GALE_DRIVER_OP_MAP is append-only");
static_assert(OP_SLOT(caps) == OP_SLOT(deinit) + 1,
	      "caps moved: GALE_DRIVER_OP_MAP is append-only");

/* ---- The forwarding base ---- */

static struct gale_driver_forward *forward_from(struct gale_driver *driver)
{
	assert(driver != NULL);
	struct gale_driver_forward *forward = (struct gale_driver_forward *)driver;
	assert(forward->base.ops == &forward->ops);
	assert(forward->inner != NULL);
	return forward;
}

/* wake() may come from another thread, so its forward reaches no decorator hook. */
static int forward_before(struct gale_driver_forward *forward, enum gale_driver_op op, int fd)
{
	if (op == GALE_DRIVER_OP_WAKE || forward->before == NULL)
		return 0;
	int rc = forward->before(forward, op, fd);
	assert(rc <= 0);
	return rc;
}

/* The forward of one op: the hook, then the inner driver's wrapper with the same args. */
#define FORWARD_DEFINE(op, OP, ret, fd, wrapper, params, args)                             \
	static ret forward_##op params                                                     \
	{                                                                                  \
		struct gale_driver_forward *forward = forward_from(driver);               \
		int rc = forward_before(forward, GALE_DRIVER_OP_##OP, fd);                 \
		if (rc != 0)                                                               \
			return rc;                                                         \
		driver = forward->inner; /* args name driver: the call goes inward. */     \
		return gale_driver_##op args;                                              \
	}
GALE_DRIVER_OP_MAP(FORWARD_DEFINE, GALE_DRIVER_OP_MAP_SKIP)
#undef FORWARD_DEFINE

static int64_t forward_now_ns(struct gale_driver *driver)
{
	return gale_driver_now_ns(forward_from(driver)->inner);
}

/* What the inner driver vouches for: a decorator that changes answers overrides caps. */
static uint32_t forward_caps(struct gale_driver *driver)
{
	return gale_driver_caps(forward_from(driver)->inner);
}

void gale_driver_forward_init(
	struct gale_driver_forward *forward, struct gale_driver *inner,
	const struct gale_driver_ops *overrides, const char *name,
	int (*before)(struct gale_driver_forward *forward, enum gale_driver_op op, int fd))
{
	assert(forward != NULL && overrides != NULL);
	assert(inner != NULL && inner->ops != NULL);
	assert(overrides->abi_version == GALE_DRIVER_ABI_VERSION);
	assert(overrides->deinit != NULL); /* Only the decorator knows what it owns. */
	struct gale_driver_ops *ops = &forward->ops;
	*ops = *overrides;
	if (name != NULL)
		ops->name = name;
#define FORWARD_FILL(op, OP, ...) ops->op = ops->op != NULL ? ops->op : forward_##op;
	GALE_DRIVER_OP_MAP(FORWARD_FILL, GALE_DRIVER_OP_MAP_SKIP)
#undef FORWARD_FILL
	ops->now_ns = ops->now_ns != NULL ? ops->now_ns : forward_now_ns;
	ops->caps = ops->caps != NULL ? ops->caps : forward_caps;
	forward->inner = inner;
	forward->before = before;
	forward->base.ops = ops;
}

bool gale_sockopt_is_bool(enum gale_sockopt opt)
{
	return opt == GALE_SOCKOPT_NODELAY || opt == GALE_SOCKOPT_REUSEADDR ||
	       opt == GALE_SOCKOPT_KEEPALIVE || opt == GALE_SOCKOPT_V6ONLY;
}

bool gale_sockopt_value_is_valid(enum gale_sockopt opt, int value)
{
	if (gale_sockopt_is_bool(opt))
		return value == 0 || value == 1;
	switch (opt) {
	case GALE_SOCKOPT_SNDBUF:
	case GALE_SOCKOPT_RCVBUF:
		return value >= 0;
	case GALE_SOCKOPT_LINGER:
		return value >= -1;
	case GALE_SOCKOPT_TTL:
		return value >= 1 && value <= 255;
	default:
		return false;
	}
}
