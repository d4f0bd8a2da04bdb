/* SPDX-License-Identifier: MIT */
/*
 * The driver wrappers: the only place that dereferences driver->ops (SQLite os.c).
 * Each checks its arguments (bad values are -EINVAL for every driver alike; NULL
 * pointers are asserted), supplies the fallback of optional ops, and forwards. The
 * driver's answers that could overrun a caller's buffer (a count above len, more events
 * than events_cap) are checked in every build type (GALE__CONTRACT).
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/driver.h>

#include "io_internal.h"

static inline const struct gale_driver_ops *driver_ops(const struct gale_driver *driver)
{
	assert(driver != NULL);
	assert(driver->ops != NULL);
	assert(driver->ops->abi_version == GALE_DRIVER_ABI_VERSION);
	return driver->ops;
}

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

int gale_driver_fd_deregister(struct gale_driver *driver, int fd)
{
	return driver_ops(driver)->fd_deregister(driver, fd);
}

int gale_driver_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		     int64_t timeout_ns)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	if (events_cap <= 0 || timeout_ns < -1)
		return -EINVAL;
	assert(events != NULL);
	int rc = ops->wait(driver, events, events_cap, timeout_ns);
	GALE__CONTRACT(rc <= events_cap, "driver '%s' wait returned %d events for %d slots",
		       ops->name, rc, events_cap);
	return rc;
}

int gale_driver_wake(struct gale_driver *driver)
{
	const struct gale_driver_ops *ops = driver_ops(driver);
	return ops->wake != NULL ? ops->wake(driver) : -ENOTSUP;
}

ssize_t gale_driver_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	return driver_count_check(driver, "read", driver_ops(driver)->read(driver, fd, buf, len),
				  len);
}

ssize_t gale_driver_write(struct gale_driver *driver, int fd, const void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	return driver_count_check(driver, "write",
				  driver_ops(driver)->write(driver, fd, buf, len), len);
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

int gale_driver_socket(struct gale_driver *driver, int domain, int type, int protocol)
{
	return driver_ops(driver)->socket(driver, domain, type, protocol);
}

int gale_driver_bind(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		     socklen_t addr_len)
{
	assert(addr != NULL);
	return driver_ops(driver)->bind(driver, fd, addr, addr_len);
}

int gale_driver_listen(struct gale_driver *driver, int fd, int backlog)
{
	return driver_ops(driver)->listen(driver, fd, backlog);
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

int gale_driver_socket_error_take(struct gale_driver *driver, int fd)
{
	return driver_ops(driver)->socket_error_take(driver, fd);
}

int gale_driver_sockopt_set(struct gale_driver *driver, int fd, enum gale_sockopt opt,
			    int value)
{
	return driver_ops(driver)->sockopt_set(driver, fd, opt, value);
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

int gale_driver_close(struct gale_driver *driver, int fd)
{
	return driver_ops(driver)->close(driver, fd);
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

int gale_driver_fd_nonblocking_set(struct gale_driver *driver, int fd)
{
	return driver_ops(driver)->fd_nonblocking_set(driver, fd);
}

int64_t gale_driver_now_ns(struct gale_driver *driver)
{
	return driver_ops(driver)->now_ns(driver);
}

void gale_driver_deinit(struct gale_driver *driver)
{
	if (driver == NULL || driver->ops == NULL)
		return;
	driver->ops->deinit(driver);
}

const char *gale_driver_name(const struct gale_driver *driver)
{
	return driver_ops(driver)->name;
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
