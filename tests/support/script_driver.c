/* SPDX-License-Identifier: MIT */
/*
 * The scripted driver: every readiness op pops a value the test queued with cmocka, so a
 * unit test fixes exact driver results and checks exact calls with no kernel involved.
 * How to script it is documented once, in test_support.h.
 *
 * The static ops keep the gale_script_driver_ prefix on purpose: cmocka keys queued values
 * by function name (__func__), so these names are what tests write in will_return().
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>

#include "test_support.h"

static struct gale_script_driver *script_driver_from(struct gale_driver *driver)
{
	assert_non_null(driver);
	return (struct gale_script_driver *)driver;
}

static int gale_script_driver_fd_register(struct gale_driver *driver, int fd, uint64_t token,
					  uint32_t interest)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	check_expected(token);
	check_expected(interest);
	return (int)mock();
}

static int gale_script_driver_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
					    uint32_t interest)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	check_expected(token);
	check_expected(interest);
	return (int)mock();
}

static int gale_script_driver_fd_deregister(struct gale_driver *driver, int fd)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	return (int)mock();
}

static int gale_script_driver_wait(struct gale_driver *driver, struct gale_event *events,
				   int events_cap, int64_t timeout_ns)
{
	struct gale_script_driver *script = script_driver_from(driver);
	script->waits_count++;
	script->last_timeout_ns = timeout_ns;
	int count = (int)mock();
	if (count <= 0)
		return count;
	/* A script longer than the caller's buffer is a broken test, not a driver result. */
	assert_true(count <= events_cap);
	for (int i = 0; i < count; i++) {
		events[i].token = (uint64_t)mock();
		events[i].ready = (uint32_t)mock();
	}
	return count;
}

static int64_t gale_script_driver_now_ns(struct gale_driver *driver)
{
	return script_driver_from(driver)->now_ns;
}

static void gale_script_driver_deinit(struct gale_driver *driver)
{
	(void)script_driver_from(driver);
}

/* Every op a reactor-level test has no business calling ends up here and fails the test. */
static int script_driver_unexpected(const char *op)
{
	fail_msg("script driver: unexpected call to %s", op);
	return -ENOSYS;
}

static ssize_t script_driver_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	(void)driver, (void)fd, (void)buf, (void)len;
	return script_driver_unexpected("read");
}

static ssize_t script_driver_write(struct gale_driver *driver, int fd, const void *buf,
				   size_t len)
{
	(void)driver, (void)fd, (void)buf, (void)len;
	return script_driver_unexpected("write");
}

static ssize_t script_driver_readv(struct gale_driver *driver, int fd, const struct iovec *iov,
				   int iov_count)
{
	(void)driver, (void)fd, (void)iov, (void)iov_count;
	return script_driver_unexpected("readv");
}

static ssize_t script_driver_writev(struct gale_driver *driver, int fd,
				    const struct iovec *iov, int iov_count)
{
	(void)driver, (void)fd, (void)iov, (void)iov_count;
	return script_driver_unexpected("writev");
}

static ssize_t script_driver_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
				  uint32_t flags)
{
	(void)driver, (void)fd, (void)buf, (void)len, (void)flags;
	return script_driver_unexpected("recv");
}

static ssize_t script_driver_send(struct gale_driver *driver, int fd, const void *buf,
				  size_t len, uint32_t flags)
{
	(void)driver, (void)fd, (void)buf, (void)len, (void)flags;
	return script_driver_unexpected("send");
}

static int script_driver_socket(struct gale_driver *driver, int domain, int type, int protocol)
{
	(void)driver, (void)domain, (void)type, (void)protocol;
	return script_driver_unexpected("socket");
}

static int script_driver_bind(struct gale_driver *driver, int fd, const struct sockaddr *addr,
			      socklen_t addr_len)
{
	(void)driver, (void)fd, (void)addr, (void)addr_len;
	return script_driver_unexpected("bind");
}

static int script_driver_listen(struct gale_driver *driver, int fd, int backlog)
{
	(void)driver, (void)fd, (void)backlog;
	return script_driver_unexpected("listen");
}

static int script_driver_accept(struct gale_driver *driver, int fd,
				struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	(void)driver, (void)fd, (void)addr_out, (void)addr_len_out;
	return script_driver_unexpected("accept");
}

static int script_driver_connect(struct gale_driver *driver, int fd,
				 const struct sockaddr *addr, socklen_t addr_len)
{
	(void)driver, (void)fd, (void)addr, (void)addr_len;
	return script_driver_unexpected("connect");
}

static int script_driver_socket_error_take(struct gale_driver *driver, int fd)
{
	(void)driver, (void)fd;
	return script_driver_unexpected("socket_error_take");
}

static int script_driver_sockopt_set(struct gale_driver *driver, int fd,
				     enum gale_sockopt opt, int value)
{
	(void)driver, (void)fd, (void)opt, (void)value;
	return script_driver_unexpected("sockopt_set");
}

static int script_driver_sockopt_get(struct gale_driver *driver, int fd,
				     enum gale_sockopt opt, int *value_out)
{
	(void)driver, (void)fd, (void)opt, (void)value_out;
	return script_driver_unexpected("sockopt_get");
}

static int script_driver_addr_local(struct gale_driver *driver, int fd,
				    struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	(void)driver, (void)fd, (void)addr_out, (void)addr_len_out;
	return script_driver_unexpected("addr_local");
}

static int script_driver_addr_peer(struct gale_driver *driver, int fd,
				   struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	(void)driver, (void)fd, (void)addr_out, (void)addr_len_out;
	return script_driver_unexpected("addr_peer");
}

static int script_driver_shutdown(struct gale_driver *driver, int fd, int how)
{
	(void)driver, (void)fd, (void)how;
	return script_driver_unexpected("shutdown");
}

static int script_driver_close(struct gale_driver *driver, int fd)
{
	(void)driver, (void)fd;
	return script_driver_unexpected("close");
}

static int script_driver_socketpair(struct gale_driver *driver, int fds_out[2])
{
	(void)driver, (void)fds_out;
	return script_driver_unexpected("socketpair");
}

static int script_driver_pipe(struct gale_driver *driver, int fds_out[2])
{
	(void)driver, (void)fds_out;
	return script_driver_unexpected("pipe");
}

static int script_driver_fd_nonblocking_set(struct gale_driver *driver, int fd)
{
	(void)driver, (void)fd;
	return script_driver_unexpected("fd_nonblocking_set");
}

static const struct gale_driver_ops script_driver_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "script",
	.fd_register = gale_script_driver_fd_register,
	.fd_reregister = gale_script_driver_fd_reregister,
	.fd_deregister = gale_script_driver_fd_deregister,
	.wait = gale_script_driver_wait,
	.wake = NULL, /* Optional: the wrapper answers -ENOTSUP. */
	.read = script_driver_read,
	.write = script_driver_write,
	.readv = script_driver_readv,
	.writev = script_driver_writev,
	.recv = script_driver_recv,
	.send = script_driver_send,
	.socket = script_driver_socket,
	.bind = script_driver_bind,
	.listen = script_driver_listen,
	.accept = script_driver_accept,
	.connect = script_driver_connect,
	.socket_error_take = script_driver_socket_error_take,
	.sockopt_set = script_driver_sockopt_set,
	.sockopt_get = script_driver_sockopt_get,
	.addr_local = script_driver_addr_local,
	.addr_peer = script_driver_addr_peer,
	.shutdown = script_driver_shutdown,
	.close = script_driver_close,
	.socketpair = script_driver_socketpair,
	.pipe = script_driver_pipe,
	.fd_nonblocking_set = script_driver_fd_nonblocking_set,
	.now_ns = gale_script_driver_now_ns,
	.deinit = gale_script_driver_deinit,
};

_Static_assert(offsetof(struct gale_script_driver, base) == 0, "base must be first");

void gale_script_driver_init(struct gale_script_driver *driver)
{
	assert(driver != NULL);
	*driver = (struct gale_script_driver){0};
	driver->base.ops = &script_driver_ops;
}

void gale_script_driver_expect_fd_register(int fd, uint64_t token, uint32_t interest, int rc)
{
	expect_value(gale_script_driver_fd_register, fd, fd);
	expect_value(gale_script_driver_fd_register, token, token);
	expect_value(gale_script_driver_fd_register, interest, interest);
	will_return(gale_script_driver_fd_register, rc);
}

void gale_script_driver_expect_fd_reregister(int fd, uint64_t token, uint32_t interest, int rc)
{
	expect_value(gale_script_driver_fd_reregister, fd, fd);
	expect_value(gale_script_driver_fd_reregister, token, token);
	expect_value(gale_script_driver_fd_reregister, interest, interest);
	will_return(gale_script_driver_fd_reregister, rc);
}

void gale_script_driver_expect_fd_deregister(int fd, int rc)
{
	expect_value(gale_script_driver_fd_deregister, fd, fd);
	will_return(gale_script_driver_fd_deregister, rc);
}

void gale_script_driver_expect_wait(const struct gale_event *events, int count)
{
	assert(count <= 0 || events != NULL);
	will_return(gale_script_driver_wait, count);
	for (int i = 0; i < count; i++) {
		will_return(gale_script_driver_wait, events[i].token);
		will_return(gale_script_driver_wait, events[i].ready);
	}
}
