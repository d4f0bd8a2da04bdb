/* SPDX-License-Identifier: MIT */
/*
 * The production driver: struct gale_driver_ops on Linux epoll(2), edge-triggered. The only
 * file of gale that calls the OS or reads errno (scripts/check-syscalls.sh enforces it).
 * Sections:
 *   1. Syscall table  typed accessors over priv_syscalls[] (SQLite aSyscall)
 *   2. Results        errno -> -errno, would-block folding, the SIGPIPE guard
 *   3. Readiness      fd_register, fd_reregister, fd_deregister, wait, wake
 *   4. Byte I/O       read, write, readv, writev, recv, send
 *   5. Sockets, fds   socket .. shutdown, sockopts, close, socketpair, pipe, nonblocking
 *   6. Lifecycle      now_ns, the ops table, init, deinit, syscall_set
 */
#define _GNU_SOURCE /* accept4, pipe2, eventfd, SOCK_NONBLOCK. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gale/driver.h>
#include <gale/driver_epoll.h>

#include "io_internal.h"
#include "resolver_ares_internal.h"

static_assert(offsetof(struct gale_driver_epoll, base) == 0,
	      "a struct gale_driver * must point at the whole epoll driver");

/* The token of the internal wake eventfd; fd_register asserts nobody else uses it. */
#define EPOLL_TOKEN_WAKE UINT64_MAX

#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

static const struct gale_driver_ops gale_driver_epoll_ops;

static struct gale_driver_epoll *driver_epoll_from(struct gale_driver *base)
{
	assert(base != NULL);
	assert(base->ops == &gale_driver_epoll_ops);
	return (struct gale_driver_epoll *)base;
}

/* ---- 1. Syscall table ----------------------------------------------------------------- */

/* The exact types of the libc functions each slot holds (plain pointers, no GNU unions). */
typedef int sys_epoll_ctl_fn(int epoll_fd, int op, int fd, struct epoll_event *event);
typedef int sys_epoll_wait_fn(int epoll_fd, struct epoll_event *events, int events_cap,
			      int timeout_ms);
typedef ssize_t sys_read_fn(int fd, void *buf, size_t len);
typedef ssize_t sys_write_fn(int fd, const void *buf, size_t len);
typedef ssize_t sys_readv_fn(int fd, const struct iovec *iov, int iov_count);
typedef ssize_t sys_writev_fn(int fd, const struct iovec *iov, int iov_count);
typedef ssize_t sys_recv_fn(int fd, void *buf, size_t len, int flags);
typedef ssize_t sys_send_fn(int fd, const void *buf, size_t len, int flags);
typedef int sys_accept4_fn(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags);
typedef int sys_connect_fn(int fd, const struct sockaddr *addr, socklen_t addr_len);
typedef int sys_close_fn(int fd);

/* The real functions, restored by syscall_set(slot, NULL). Constant: not mutable state. */
static const gale_syscall_ptr syscalls_real[GALE_EPOLL_SYSCALL_COUNT_] = {
	[GALE_EPOLL_SYSCALL_EPOLL_CTL] = (gale_syscall_ptr)epoll_ctl,
	[GALE_EPOLL_SYSCALL_EPOLL_WAIT] = (gale_syscall_ptr)epoll_wait,
	[GALE_EPOLL_SYSCALL_READ] = (gale_syscall_ptr)read,
	[GALE_EPOLL_SYSCALL_WRITE] = (gale_syscall_ptr)write,
	[GALE_EPOLL_SYSCALL_READV] = (gale_syscall_ptr)readv,
	[GALE_EPOLL_SYSCALL_WRITEV] = (gale_syscall_ptr)writev,
	[GALE_EPOLL_SYSCALL_RECV] = (gale_syscall_ptr)recv,
	[GALE_EPOLL_SYSCALL_SEND] = (gale_syscall_ptr)send,
	[GALE_EPOLL_SYSCALL_ACCEPT4] = (gale_syscall_ptr)accept4,
	[GALE_EPOLL_SYSCALL_CONNECT] = (gale_syscall_ptr)connect,
	[GALE_EPOLL_SYSCALL_CLOSE] = (gale_syscall_ptr)close,
};

/*
 * Typed accessors, so a call site reads sys_read(driver)(fd, buf, len). The cast back from
 * gale_syscall_ptr restores the exact type the slot was filled with (syscall_set's contract).
 */
#define SYSCALL_ACCESSOR(name, slot)                                                        \
	static name##_fn *name(const struct gale_driver_epoll *driver)                      \
	{                                                                                   \
		assert(driver->priv_syscalls[slot] != NULL);                                \
		return (name##_fn *)driver->priv_syscalls[slot];                            \
	}
SYSCALL_ACCESSOR(sys_epoll_ctl, GALE_EPOLL_SYSCALL_EPOLL_CTL)
SYSCALL_ACCESSOR(sys_epoll_wait, GALE_EPOLL_SYSCALL_EPOLL_WAIT)
SYSCALL_ACCESSOR(sys_read, GALE_EPOLL_SYSCALL_READ)
SYSCALL_ACCESSOR(sys_write, GALE_EPOLL_SYSCALL_WRITE)
SYSCALL_ACCESSOR(sys_readv, GALE_EPOLL_SYSCALL_READV)
SYSCALL_ACCESSOR(sys_writev, GALE_EPOLL_SYSCALL_WRITEV)
SYSCALL_ACCESSOR(sys_recv, GALE_EPOLL_SYSCALL_RECV)
SYSCALL_ACCESSOR(sys_send, GALE_EPOLL_SYSCALL_SEND)
SYSCALL_ACCESSOR(sys_accept4, GALE_EPOLL_SYSCALL_ACCEPT4)
SYSCALL_ACCESSOR(sys_connect, GALE_EPOLL_SYSCALL_CONNECT)
SYSCALL_ACCESSOR(sys_close, GALE_EPOLL_SYSCALL_CLOSE)
#undef SYSCALL_ACCESSOR

/* ---- 2. Results ----------------------------------------------------------------------- */

/*
 * The one place errno is read: the negated errno of the call that just failed. Callers
 * convert right after the failing call, before anything else can overwrite errno.
 */
static int errno_negated(void)
{
	int error = errno;
	assert(error > 0);
	return -error;
}

static bool errno_is_eintr(void)
{
	return errno == EINTR;
}

/* Read-side result: -EAGAIN is the only spelling of "would block" above the seam. */
static ssize_t result_read(ssize_t rc)
{
	if (rc >= 0)
		return rc;
	int error = errno_negated();
	if (error == -EWOULDBLOCK)
		error = -EAGAIN;
	return error;
}

/*
 * Write-side result. ENOBUFS on a send means the socket's buffers are momentarily
 * exhausted, which the caller handles exactly like a full buffer: wait and retry. libuv
 * (uv__try_write) folds it the same way. It is folded on write paths only: on accept or
 * socket it is a real resource error.
 */
static ssize_t result_write(ssize_t rc)
{
	if (rc >= 0)
		return rc;
	int error = errno_negated();
	if (error == -EWOULDBLOCK || error == -ENOBUFS)
		error = -EAGAIN;
	return error;
}

/*
 * write(2) and writev(2) on a pipe whose reader is gone raise SIGPIPE, and unlike send()
 * they have no per-call flag to prevent it. Ignoring SIGPIPE process-wide would change
 * global state a library does not own, so the guard blocks SIGPIPE in the calling thread
 * around the call and consumes the one the call raised (libpq's pq_block_sigpipe). This
 * works because the kernel sends that SIGPIPE synchronously to the writing thread, so it
 * is pending on this thread when the call returns EPIPE. A SIGPIPE already pending before
 * the call belongs to someone else and is left pending. Cost: two sigprocmask calls per
 * pipe write; sockets never take this path (they use MSG_NOSIGNAL).
 */
struct sigpipe_guard {
	sigset_t mask_old;   /* The thread's signal mask before the call; restored after. */
	bool pending_before; /* SIGPIPE was pending already: not ours to consume. */
};

static void sigpipe_set_make(sigset_t *set_out)
{
	sigemptyset(set_out);
	sigaddset(set_out, SIGPIPE);
}

static void sigpipe_guard_enter(struct sigpipe_guard *guard)
{
	sigset_t pipe_set;
	sigpipe_set_make(&pipe_set);
	int rc = pthread_sigmask(SIG_BLOCK, &pipe_set, &guard->mask_old);
	assert(rc == 0); /* Only EINVAL for a bad `how` is possible. */
	(void)rc;
	guard->pending_before = false;
	/* Only a SIGPIPE that was blocked before can be pending now. */
	if (sigismember(&guard->mask_old, SIGPIPE) == 1) {
		sigset_t pending;
		if (sigpending(&pending) == 0)
			guard->pending_before = sigismember(&pending, SIGPIPE) == 1;
	}
}

static void sigpipe_guard_leave(struct sigpipe_guard *guard, bool got_epipe)
{
	assert(guard != NULL);
	if (got_epipe && !guard->pending_before) {
		sigset_t pipe_set;
		sigpipe_set_make(&pipe_set);
		/* A zero timeout: consume ours if it is pending, never block. */
		const struct timespec zero = {.tv_sec = 0, .tv_nsec = 0};
		int rc;
		do {
			rc = sigtimedwait(&pipe_set, NULL, &zero);
		} while (rc < 0 && errno_is_eintr());
		assert(rc == SIGPIPE || rc < 0);
	}
	int rc = pthread_sigmask(SIG_SETMASK, &guard->mask_old, NULL);
	assert(rc == 0);
	(void)rc;
}

/* ---- 3. Readiness --------------------------------------------------------------------- */

/* Interest to epoll bits. READ asks for EPOLLRDHUP too, so a half-close shows as RDHUP. */
static uint32_t epoll_events_from_interest(uint32_t interest)
{
	assert((interest & ~(uint32_t)GALE_READY_INTEREST_ALL) == 0);
	uint32_t events = EPOLLET;
	if ((interest & GALE_READY_READ) != 0)
		events |= EPOLLIN | EPOLLRDHUP;
	if ((interest & GALE_READY_WRITE) != 0)
		events |= EPOLLOUT;
	return events;
}

/* Shifts instead of five branches (every event of every turn comes through here); the
 * asserts pin the bit positions the shifts assume. */
_Static_assert((unsigned)EPOLLIN == (unsigned)GALE_READY_READ &&
		       (unsigned)EPOLLOUT >> 1 == (unsigned)GALE_READY_WRITE &&
		       (unsigned)EPOLLRDHUP >> 11 == (unsigned)GALE_READY_RDHUP &&
		       (unsigned)EPOLLHUP >> 1 == (unsigned)GALE_READY_HUP &&
		       (unsigned)EPOLLERR << 1 == (unsigned)GALE_READY_ERROR,
	       "epoll and gale readiness bits moved: ready_from_epoll_events needs new shifts");
static uint32_t ready_from_epoll_events(uint32_t events)
{
	return (events & EPOLLIN) | (events & EPOLLOUT) >> 1 | (events & EPOLLRDHUP) >> 11 |
	       (events & EPOLLHUP) >> 1 | (events & EPOLLERR) << 1;
}

static int epoll_ctl_retry(struct gale_driver_epoll *driver, int op, int fd,
			   struct epoll_event *event)
{
	assert(driver->priv_epoll_fd >= 0);
	assert(op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD || op == EPOLL_CTL_DEL);
	int rc;
	do {
		rc = sys_epoll_ctl(driver)(driver->priv_epoll_fd, op, fd, event);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_fd_register(struct gale_driver *base, int fd, uint64_t token,
					 uint32_t interest)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(token != EPOLL_TOKEN_WAKE); /* Reserved for the wake eventfd. */
	struct epoll_event event = {.events = epoll_events_from_interest(interest)};
	event.data.u64 = token;
	return epoll_ctl_retry(driver, EPOLL_CTL_ADD, fd, &event);
}

static int gale_driver_epoll_fd_reregister(struct gale_driver *base, int fd, uint64_t token,
					   uint32_t interest)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(token != EPOLL_TOKEN_WAKE);
	struct epoll_event event = {.events = epoll_events_from_interest(interest)};
	event.data.u64 = token;
	return epoll_ctl_retry(driver, EPOLL_CTL_MOD, fd, &event);
}

static int gale_driver_epoll_fd_deregister(struct gale_driver *base, int fd)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	/* Kernels before 2.6.9 require a non-NULL event even for EPOLL_CTL_DEL. */
	struct epoll_event event = {.events = 0};
	return epoll_ctl_retry(driver, EPOLL_CTL_DEL, fd, &event);
}

static int64_t clock_monotonic_ns(void)
{
	struct timespec now;
	int rc = clock_gettime(CLOCK_MONOTONIC, &now);
	assert(rc == 0); /* CLOCK_MONOTONIC always exists on Linux. */
	(void)rc;
	return (int64_t)now.tv_sec * NS_PER_SEC + (int64_t)now.tv_nsec;
}

/*
 * epoll_wait takes milliseconds. Round up: rounding down would turn a 0.5 ms deadline into
 * a 0 ms poll, and the caller would spin until the deadline instead of sleeping. Values
 * beyond INT_MAX ms (about 24.8 days) are clamped; the caller just waits again.
 */
static int timeout_ms_from_ns(int64_t timeout_ns)
{
	assert(timeout_ns >= -1);
	if (timeout_ns < 0)
		return -1;
	int64_t timeout_ms = timeout_ns / NS_PER_MS + (timeout_ns % NS_PER_MS != 0 ? 1 : 0);
	return timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
}

/* epoll_wait, retrying EINTR with the time that is left, so a signal never extends it. */
static int epoll_wait_retry(struct gale_driver_epoll *driver, struct epoll_event *kernel_events,
			    int kernel_cap, int64_t timeout_ns)
{
	assert(kernel_cap > 0 && kernel_cap <= GALE_DRIVER_EPOLL_EVENTS_MAX);
	assert(timeout_ns >= -1);
	int64_t deadline_ns = 0;
	int timeout_ms = -1; /* The hot case (wait for I/O, no timer): no clock, no division. */
	if (timeout_ns >= 0) {
		timeout_ms = timeout_ms_from_ns(timeout_ns);
		int64_t now_ns = timeout_ns > 0 ? clock_monotonic_ns() : 0;
		deadline_ns = timeout_ns > INT64_MAX - now_ns ? INT64_MAX : now_ns + timeout_ns;
	}
	for (;;) {
		int rc = sys_epoll_wait(driver)(driver->priv_epoll_fd, kernel_events, kernel_cap,
						timeout_ms);
		if (rc >= 0)
			return rc;
		if (!errno_is_eintr())
			return errno_negated();
		if (timeout_ns > 0) {
			int64_t left_ns = deadline_ns - clock_monotonic_ns();
			timeout_ns = left_ns > 0 ? left_ns : 0;
			timeout_ms = timeout_ms_from_ns(timeout_ns);
		}
	}
}

/* Empties the eventfd counter, so the next wake() is a fresh edge. */
static void wake_drain(struct gale_driver_epoll *driver)
{
	assert(driver->priv_wake_fd >= 0);
	uint64_t count;
	ssize_t rc;
	do {
		rc = sys_read(driver)(driver->priv_wake_fd, &count, sizeof(count));
	} while (rc < 0 && errno_is_eintr());
	/* -EAGAIN: another event for the same wake was already drained. Nothing to do. */
	assert(rc == (ssize_t)sizeof(count) || result_read(rc) == -EAGAIN);
}

static int gale_driver_epoll_wait(struct gale_driver *base, struct gale_event *events,
				  int events_cap, int64_t timeout_ns)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(events != NULL && events_cap > 0);
	struct epoll_event kernel_events[GALE_DRIVER_EPOLL_EVENTS_MAX];
	int kernel_cap = events_cap < GALE_DRIVER_EPOLL_EVENTS_MAX ? events_cap
								    : GALE_DRIVER_EPOLL_EVENTS_MAX;
	int kernel_count = epoll_wait_retry(driver, kernel_events, kernel_cap, timeout_ns);
	if (kernel_count < 0)
		return kernel_count;
	int count = 0;
	for (int i = 0; i < kernel_count; i++) {
		/* The wake eventfd only ends the wait; it is never reported. */
		if (kernel_events[i].data.u64 == EPOLL_TOKEN_WAKE) {
			wake_drain(driver);
			continue;
		}
		events[count].token = kernel_events[i].data.u64;
		events[count].ready = ready_from_epoll_events(kernel_events[i].events);
		count++;
	}
	return count;
}

static int gale_driver_epoll_wake(struct gale_driver *base)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(driver->priv_wake_fd >= 0);
	const uint64_t one = 1;
	ssize_t rc;
	do {
		rc = sys_write(driver)(driver->priv_wake_fd, &one, sizeof(one));
	} while (rc < 0 && errno_is_eintr());
	if (rc >= 0)
		return 0;
	int error = errno_negated();
	/* -EAGAIN: the counter is saturated, so a wake is already pending. Same outcome. */
	return error == -EAGAIN ? 0 : error;
}

/* ---- 4. Byte I/O ---------------------------------------------------------------------- */

static ssize_t gale_driver_epoll_read(struct gale_driver *base, int fd, void *buf, size_t len)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(buf != NULL || len == 0);
	ssize_t rc;
	do {
		rc = sys_read(driver)(fd, buf, len);
	} while (rc < 0 && errno_is_eintr());
	return result_read(rc);
}

/* send(2) with MSG_NOSIGNAL: a peer that is gone is -EPIPE, never a SIGPIPE. */
static ssize_t send_nosignal(struct gale_driver_epoll *driver, int fd, const void *buf,
			     size_t len)
{
	assert(buf != NULL || len == 0);
	ssize_t rc;
	do {
		rc = sys_send(driver)(fd, buf, len, MSG_NOSIGNAL);
	} while (rc < 0 && errno_is_eintr());
	return result_write(rc);
}

/* write(2) for fds that are not sockets (pipes), inside the SIGPIPE guard. */
static ssize_t write_guarded(struct gale_driver_epoll *driver, int fd, const void *buf,
			     size_t len)
{
	assert(buf != NULL || len == 0);
	struct sigpipe_guard guard;
	sigpipe_guard_enter(&guard);
	ssize_t rc;
	do {
		rc = sys_write(driver)(fd, buf, len);
	} while (rc < 0 && errno_is_eintr());
	rc = result_write(rc);
	sigpipe_guard_leave(&guard, rc == -EPIPE);
	return rc;
}

/*
 * Sockets are the common case, so try send(MSG_NOSIGNAL) first: one syscall, no signal.
 * Only when the fd is not a socket (ENOTSOCK: a pipe, an eventfd, a tty) fall back to
 * write(2) under the SIGPIPE guard.
 */
static ssize_t gale_driver_epoll_write(struct gale_driver *base, int fd, const void *buf,
				       size_t len)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	ssize_t rc = send_nosignal(driver, fd, buf, len);
	if (rc != -ENOTSOCK)
		return rc;
	return write_guarded(driver, fd, buf, len);
}

static ssize_t gale_driver_epoll_readv(struct gale_driver *base, int fd,
				       const struct iovec *iov, int iov_count)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(iov != NULL || iov_count == 0);
	ssize_t rc;
	do {
		rc = sys_readv(driver)(fd, iov, iov_count);
	} while (rc < 0 && errno_is_eintr());
	return result_read(rc);
}

/*
 * sendmsg(MSG_NOSIGNAL) for sockets. The syscall table has no sendmsg slot, so this path
 * calls libc directly; fault injection on vectored socket writes happens one layer up
 * (the fault driver).
 */
static ssize_t sendmsg_nosignal(int fd, const struct iovec *iov, int iov_count)
{
	assert(iov != NULL || iov_count == 0);
	assert(iov_count >= 0);
	/* msghdr is not const-correct: sendmsg only reads the iovecs. */
	struct msghdr message = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iov_count};
	ssize_t rc;
	do {
		rc = sendmsg(fd, &message, MSG_NOSIGNAL);
	} while (rc < 0 && errno_is_eintr());
	return result_write(rc);
}

static ssize_t gale_driver_epoll_writev(struct gale_driver *base, int fd,
					const struct iovec *iov, int iov_count)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	ssize_t rc = sendmsg_nosignal(fd, iov, iov_count);
	if (rc != -ENOTSOCK)
		return rc;
	/* Not a socket: writev(2) inside the SIGPIPE guard, as write does. */
	struct sigpipe_guard guard;
	sigpipe_guard_enter(&guard);
	do {
		rc = sys_writev(driver)(fd, iov, iov_count);
	} while (rc < 0 && errno_is_eintr());
	rc = result_write(rc);
	sigpipe_guard_leave(&guard, rc == -EPIPE);
	return rc;
}

static ssize_t gale_driver_epoll_recv(struct gale_driver *base, int fd, void *buf, size_t len,
				      uint32_t flags)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(buf != NULL || len == 0);
	assert((flags & ~GALE_RECV_PEEK) == 0);
	int kernel_flags = (flags & GALE_RECV_PEEK) != 0 ? MSG_PEEK : 0;
	ssize_t rc;
	do {
		rc = sys_recv(driver)(fd, buf, len, kernel_flags);
	} while (rc < 0 && errno_is_eintr());
	return result_read(rc);
}

static ssize_t gale_driver_epoll_send(struct gale_driver *base, int fd, const void *buf,
				      size_t len, uint32_t flags)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(flags == 0);
	(void)flags;
	return send_nosignal(driver, fd, buf, len);
}

/* ---- 5. Sockets ----------------------------------------------------------------------- */

static int gale_driver_epoll_socket(struct gale_driver *base, int domain, int type,
				    int protocol)
{
	(void)driver_epoll_from(base);
	int fd;
	do {
		fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	} while (fd < 0 && errno_is_eintr());
	return fd >= 0 ? fd : errno_negated();
}

static int gale_driver_epoll_bind(struct gale_driver *base, int fd, const struct sockaddr *addr,
				  socklen_t addr_len)
{
	(void)driver_epoll_from(base);
	assert(addr != NULL);
	int rc;
	do {
		rc = bind(fd, addr, addr_len);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_listen(struct gale_driver *base, int fd, int backlog)
{
	(void)driver_epoll_from(base);
	/* A negative backlog is the kernel's limit (somaxconn), as the simulator models it. */
	int rc;
	do {
		rc = listen(fd, backlog);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_accept(struct gale_driver *base, int fd,
				    struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert((addr_out == NULL) == (addr_len_out == NULL));
	if (addr_len_out != NULL)
		*addr_len_out = (socklen_t)sizeof(*addr_out);
	int rc;
	do {
		rc = sys_accept4(driver)(fd, (struct sockaddr *)addr_out, addr_len_out,
					 SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (rc < 0 && errno_is_eintr());
	return (int)result_read(rc);
}

/*
 * An interrupted connect keeps connecting in the background (POSIX), so the retry sees the
 * attempt already under way rather than starting a new one: EALREADY then means "in
 * progress" and EISCONN means "it completed". Both are reported as if the first call had
 * not been interrupted.
 */
static int gale_driver_epoll_connect(struct gale_driver *base, int fd,
				     const struct sockaddr *addr, socklen_t addr_len)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(addr != NULL);
	bool interrupted = false;
	int rc;
	for (;;) {
		rc = sys_connect(driver)(fd, addr, addr_len);
		if (rc == 0 || !errno_is_eintr())
			break;
		interrupted = true;
	}
	if (rc == 0)
		return 0;
	rc = errno_negated();
	if (interrupted && rc == -EALREADY)
		return -EINPROGRESS;
	if (interrupted && rc == -EISCONN)
		return 0;
	return rc;
}

static int getsockopt_retry(int fd, int level, int name, void *value, socklen_t *value_len)
{
	assert(value != NULL && value_len != NULL);
	int rc;
	do {
		rc = getsockopt(fd, level, name, value, value_len);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_socket_error_take(struct gale_driver *base, int fd)
{
	(void)driver_epoll_from(base);
	int error = 0;
	socklen_t error_len = (socklen_t)sizeof(error);
	int rc = getsockopt_retry(fd, SOL_SOCKET, SO_ERROR, &error, &error_len);
	if (rc < 0)
		return rc;
	assert(error >= 0);
	return -error;
}

static int addr_local_get(int fd, struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	assert(addr_out != NULL && addr_len_out != NULL);
	*addr_len_out = (socklen_t)sizeof(*addr_out);
	int rc;
	do {
		rc = getsockname(fd, (struct sockaddr *)addr_out, addr_len_out);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

/* Where an option lives. TTL depends on the socket's family, so it may look it up. */
static int sockopt_locate(int fd, enum gale_sockopt opt, int *level_out, int *name_out)
{
	assert(level_out != NULL && name_out != NULL);
	static const int locations[GALE_SOCKOPT_COUNT_][2] = {
		[GALE_SOCKOPT_NODELAY] = {IPPROTO_TCP, TCP_NODELAY},
		[GALE_SOCKOPT_REUSEADDR] = {SOL_SOCKET, SO_REUSEADDR},
		[GALE_SOCKOPT_KEEPALIVE] = {SOL_SOCKET, SO_KEEPALIVE},
		[GALE_SOCKOPT_SNDBUF] = {SOL_SOCKET, SO_SNDBUF},
		[GALE_SOCKOPT_RCVBUF] = {SOL_SOCKET, SO_RCVBUF},
		[GALE_SOCKOPT_LINGER] = {SOL_SOCKET, SO_LINGER},
		[GALE_SOCKOPT_TTL] = {IPPROTO_IP, IP_TTL},
		[GALE_SOCKOPT_V6ONLY] = {IPPROTO_IPV6, IPV6_V6ONLY},
		[GALE_SOCKOPT_ACCEPTCONN] = {SOL_SOCKET, SO_ACCEPTCONN},
	};
	assert((unsigned)opt < GALE_SOCKOPT_COUNT_);
	*level_out = locations[opt][0];
	*name_out = locations[opt][1];
	if (opt != GALE_SOCKOPT_TTL)
		return 0;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int rc = addr_local_get(fd, &addr, &addr_len);
	if (rc < 0)
		return rc;
	if (addr.ss_family == AF_INET6) {
		*level_out = IPPROTO_IPV6;
		*name_out = IPV6_UNICAST_HOPS;
	}
	return 0;
}

/*
 * An option the socket's protocol does not have is -ENOPROTOOPT. The kernel says
 * EOPNOTSUPP instead for protocols with no option handler at all (AF_UNIX at IPPROTO_TCP);
 * both mean the same thing to the caller, so there is one spelling.
 */
static int sockopt_result(int rc)
{
	return rc == -EOPNOTSUPP ? -ENOPROTOOPT : rc;
}

static int gale_driver_epoll_sockopt_get(struct gale_driver *base, int fd,
					 enum gale_sockopt opt, int *value_out);

static int gale_driver_epoll_sockopt_set(struct gale_driver *base, int fd,
					 enum gale_sockopt opt, int value)
{
	(void)driver_epoll_from(base);
	if ((unsigned)opt >= GALE_SOCKOPT_COUNT_)
		return -EINVAL;
	if (!gale_sockopt_value_is_valid(opt, value)) {
		/* The kernel looks at the fd and the option before any value: a bad fd, a pipe
		 * or an option the socket lacks says so first (as the simulator does). */
		int probe;
		int rc = gale_driver_epoll_sockopt_get(base, fd, opt, &probe);
		return rc < 0 ? rc : -EINVAL;
	}
	int level;
	int name;
	int rc = sockopt_locate(fd, opt, &level, &name);
	if (rc < 0)
		return rc;
	struct linger linger = {.l_onoff = value >= 0 ? 1 : 0, .l_linger = value >= 0 ? value : 0};
	const void *option = opt == GALE_SOCKOPT_LINGER ? (const void *)&linger : &value;
	socklen_t option_len = opt == GALE_SOCKOPT_LINGER ? sizeof(linger) : sizeof(value);
	do {
		rc = setsockopt(fd, level, name, option, option_len);
	} while (rc < 0 && errno_is_eintr());
	return sockopt_result(rc == 0 ? 0 : errno_negated());
}

static int gale_driver_epoll_sockopt_get(struct gale_driver *base, int fd,
					 enum gale_sockopt opt, int *value_out)
{
	(void)driver_epoll_from(base);
	assert(value_out != NULL);
	if ((unsigned)opt >= GALE_SOCKOPT_COUNT_)
		return -EINVAL;
	int level;
	int name;
	int rc = sockopt_locate(fd, opt, &level, &name);
	if (rc < 0)
		return rc;
	if (opt == GALE_SOCKOPT_LINGER) {
		struct linger linger = {0};
		socklen_t linger_len = (socklen_t)sizeof(linger);
		rc = sockopt_result(getsockopt_retry(fd, level, name, &linger, &linger_len));
		if (rc == 0)
			*value_out = linger.l_onoff != 0 ? linger.l_linger : -1;
		return rc;
	}
	int value = 0;
	socklen_t value_len = (socklen_t)sizeof(value);
	rc = sockopt_result(getsockopt_retry(fd, level, name, &value, &value_len));
	if (rc < 0)
		return rc;
	/* Booleans come back as the kernel's flag word; gale promises 0 or 1. */
	bool is_flag = gale_sockopt_is_bool(opt) || opt == GALE_SOCKOPT_ACCEPTCONN;
	*value_out = is_flag ? (value != 0) : value;
	return 0;
}

static int gale_driver_epoll_addr_local(struct gale_driver *base, int fd,
					struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	(void)driver_epoll_from(base);
	return addr_local_get(fd, addr_out, addr_len_out);
}

static int gale_driver_epoll_addr_peer(struct gale_driver *base, int fd,
				       struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	(void)driver_epoll_from(base);
	assert(addr_out != NULL && addr_len_out != NULL);
	*addr_len_out = (socklen_t)sizeof(*addr_out);
	int rc;
	do {
		rc = getpeername(fd, (struct sockaddr *)addr_out, addr_len_out);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_shutdown(struct gale_driver *base, int fd, int how)
{
	(void)driver_epoll_from(base);
	static const int hows[] = {
		[GALE_SHUTDOWN_READ] = SHUT_RD,
		[GALE_SHUTDOWN_WRITE] = SHUT_WR,
		[GALE_SHUTDOWN_BOTH] = SHUT_RDWR,
	};
	if (how < GALE_SHUTDOWN_READ || how > GALE_SHUTDOWN_BOTH)
		return -EINVAL;
	int rc;
	do {
		rc = shutdown(fd, hows[how]);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

/*
 * close(2) exactly once. On Linux the fd is released before close can fail, even with
 * EINTR, so retrying would close whatever another thread opened under the same number in
 * between. EINTR therefore means "closed": 0. Other errors (EIO) are reported, the fd is
 * gone all the same.
 */
static int fd_close(struct gale_driver_epoll *driver, int fd)
{
	assert(driver != NULL);
	if (sys_close(driver)(fd) == 0)
		return 0;
	return errno_is_eintr() ? 0 : errno_negated();
}

static int gale_driver_epoll_close(struct gale_driver *base, int fd)
{
	struct gale_driver_epoll *driver = driver_epoll_from(base);
	assert(fd != driver->priv_epoll_fd && fd != driver->priv_wake_fd);
	return fd_close(driver, fd);
}

static int gale_driver_epoll_socketpair(struct gale_driver *base, int fds_out[2])
{
	(void)driver_epoll_from(base);
	assert(fds_out != NULL);
	int rc;
	do {
		rc = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_out);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

static int gale_driver_epoll_pipe(struct gale_driver *base, int fds_out[2])
{
	(void)driver_epoll_from(base);
	assert(fds_out != NULL);
	int rc;
	do {
		rc = pipe2(fds_out, O_NONBLOCK | O_CLOEXEC);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

/* For fds the caller created elsewhere (AsyncFd). Leaves the other status flags as they are. */
static int gale_driver_epoll_fd_nonblocking_set(struct gale_driver *base, int fd)
{
	(void)driver_epoll_from(base);
	int flags;
	do {
		flags = fcntl(fd, F_GETFL);
	} while (flags < 0 && errno_is_eintr());
	if (flags < 0)
		return errno_negated();
	if ((flags & O_NONBLOCK) != 0)
		return 0; /* Already non-blocking: spare the second syscall. */
	int rc;
	do {
		rc = fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	} while (rc < 0 && errno_is_eintr());
	return rc == 0 ? 0 : errno_negated();
}

/* ---- 6. Lifecycle --------------------------------------------------------------------- */

static int64_t gale_driver_epoll_now_ns(struct gale_driver *base)
{
	(void)driver_epoll_from(base);
	return clock_monotonic_ns();
}

/* Linux keeps both promises for stream sockets and pipes under EPOLLET: tcp_recvmsg,
 * unix_stream_read_generic and pipe_read copy until the buffer is full or the queue is
 * empty, and every arrival (or freed space) wakes the wait queue, which is a new edge
 * (what Tokio relies on since its PRs #4840 and #4970). */
static uint32_t gale_driver_epoll_caps(struct gale_driver *base)
{
	(void)driver_epoll_from(base);
	return GALE_DRIVER_CAP_READ_SHORT_DRAINED | GALE_DRIVER_CAP_WRITE_SHORT_FULL;
}

static void gale_driver_epoll_base_deinit(struct gale_driver *base)
{
	gale_driver_epoll_deinit(driver_epoll_from(base));
}

/* Op <op> is gale_driver_epoll_<op>: generated from the op list, so none is left out. */
static const struct gale_driver_ops gale_driver_epoll_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "epoll",
#define OPS_ENTRY(op, ...) .op = gale_driver_epoll_##op,
	GALE_DRIVER_OP_MAP(OPS_ENTRY, GALE_DRIVER_OP_MAP_SKIP)
#undef OPS_ENTRY
	.now_ns = gale_driver_epoll_now_ns,
	.deinit = gale_driver_epoll_base_deinit,
	.caps = gale_driver_epoll_caps,
};

int gale_driver_epoll_init(struct gale_driver_epoll *driver)
{
	assert(driver != NULL);
	driver->base.ops = NULL;
	driver->priv_epoll_fd = -1;
	driver->priv_wake_fd = -1;
	for (int slot = 0; slot < GALE_EPOLL_SYSCALL_COUNT_; slot++)
		driver->priv_syscalls[slot] = syscalls_real[slot];
	int rc;
	driver->priv_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (driver->priv_epoll_fd < 0)
		return errno_negated(); /* Nothing opened yet; ops stays NULL. */
	driver->priv_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (driver->priv_wake_fd < 0) {
		rc = errno_negated();
		goto out_close_epoll;
	}
	/* EPOLLIN alone: an eventfd has no peer, so it never reports RDHUP or HUP. */
	struct epoll_event event = {.events = EPOLLIN | EPOLLET};
	event.data.u64 = EPOLL_TOKEN_WAKE;
	rc = epoll_ctl_retry(driver, EPOLL_CTL_ADD, driver->priv_wake_fd, &event);
	if (rc < 0)
		goto out_close_wake;
	driver->base.ops = &gale_driver_epoll_ops;
	return 0;

out_close_wake:
	(void)fd_close(driver, driver->priv_wake_fd);
	driver->priv_wake_fd = -1;
out_close_epoll:
	(void)fd_close(driver, driver->priv_epoll_fd);
	driver->priv_epoll_fd = -1;
	assert(driver->base.ops == NULL);
	return rc;
}

void gale_driver_epoll_deinit(struct gale_driver_epoll *driver)
{
	assert(driver != NULL);
	/* A zeroed struct has fds 0 (maybe stdin): only ops says whether init succeeded. */
	if (driver->base.ops == NULL)
		return;
	assert(driver->base.ops == &gale_driver_epoll_ops);
	assert(driver->priv_epoll_fd >= 0 && driver->priv_wake_fd >= 0);
	(void)fd_close(driver, driver->priv_wake_fd);
	(void)fd_close(driver, driver->priv_epoll_fd);
	/* Poison in debug builds, but keep ops NULL so a second deinit stays a no-op. */
	GALE__POISON(driver);
	driver->base.ops = NULL;
}

int gale_driver_epoll_syscall_set(struct gale_driver_epoll *driver,
				  enum gale_epoll_syscall slot, gale_syscall_ptr fn)
{
	assert(driver != NULL);
	assert(driver->base.ops == &gale_driver_epoll_ops); /* init fills the table. */
	if ((unsigned)slot >= GALE_EPOLL_SYSCALL_COUNT_)
		return -EINVAL;
	driver->priv_syscalls[slot] = fn != NULL ? fn : syscalls_real[slot];
	return 0;
}

/* ---- errno for c-ares's socket functions (resolver_ares_internal.h) ---- */

ssize_t gale__errno_result(ssize_t result)
{
	if (result >= 0)
		return result;
	/* gale's own codes have no errno: c-ares sees an I/O error. */
	errno = result >= -4095 && result <= -4000 ? EIO : (int)-result;
	return -1;
}
