/* SPDX-License-Identifier: MIT */
/*
 * THE seam: everything that touches the OS or time goes through struct gale_driver_ops.
 *
 * Nothing above this interface calls read(2), epoll_wait(2), connect(2) or
 * clock_gettime(2). Three drivers implement it: "epoll" (production, io/src/driver_epoll.c),
 * "sim" (deterministic simulator, sim/) and "fault(...)" (a fault-injecting decorator over
 * any other driver, sim/). The reactor above it is shared by all of them.
 *
 * Common rules for every op (a driver that breaks one is a bug in that driver):
 *   - Results are >= 0 or -errno. GALE_PENDING is never returned; -EINTR never crosses the
 *     seam (drivers retry it); -EAGAIN is the only spelling of "would block".
 *   - Nothing blocks except wait(). All fds are non-blocking and close-on-exec.
 *   - Partial progress is normal: read/write/readv/writev/recv/send may move any count from
 *     1 to len. A read or recv of 0 bytes means end of stream (or len == 0).
 *   - Each op lists the negative codes it may return. A simulated driver returns a subset
 *     of these, never a code the kernel could not produce.
 *   - Pointers are borrowed for the duration of the call.
 * Call sites use the gale_driver_<op>() wrappers below, never ops->op directly.
 */
#ifndef GALE_IO_DRIVER_H
#define GALE_IO_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

/* Append-only: bump when ops are added at the end of struct gale_driver_ops. */
#define GALE_DRIVER_ABI_VERSION 1u

/* Readiness bits, used both as interest (READ, WRITE) and as reported readiness. */
enum gale_ready {
	GALE_READY_READ = 1u << 0,  /* Readable, or the peer closed (read returns 0). */
	GALE_READY_WRITE = 1u << 1, /* Writable. */
	GALE_READY_RDHUP = 1u << 2, /* Peer shut down its write side. */
	GALE_READY_HUP = 1u << 3,   /* Hang-up: both directions are done. */
	GALE_READY_ERROR = 1u << 4, /* Error pending (see socket_error_take). */
};

#define GALE_READY_INTEREST_ALL (GALE_READY_READ | GALE_READY_WRITE)

struct gale_event {
	uint64_t token; /* Chosen by whoever registered the fd (the reactor). */
	uint32_t ready; /* enum gale_ready bits. May be spurious: readiness is a hint. */
};

/* Socket options: gale's own enum, not SOL_* / SO_* (values are portable). */
enum gale_sockopt {
	GALE_SOCKOPT_NODELAY = 0,   /* TCP_NODELAY, 0 or 1. */
	GALE_SOCKOPT_REUSEADDR = 1, /* SO_REUSEADDR, 0 or 1. */
	GALE_SOCKOPT_KEEPALIVE = 2, /* SO_KEEPALIVE, 0 or 1. */
	GALE_SOCKOPT_SNDBUF = 3,    /* SO_SNDBUF, bytes (the kernel may round or double it). */
	GALE_SOCKOPT_RCVBUF = 4,    /* SO_RCVBUF, bytes. */
	GALE_SOCKOPT_LINGER = 5,    /* SO_LINGER, seconds; -1 means off. */
	GALE_SOCKOPT_TTL = 6,       /* IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6), 1..255. */
	GALE_SOCKOPT_V6ONLY = 7,    /* IPV6_V6ONLY, 0 or 1. */
	GALE_SOCKOPT_COUNT_ = 8,    /* Not an option: the number of options. */
};

/** True for the options whose value is 0 or 1 (NODELAY, REUSEADDR, KEEPALIVE, V6ONLY). */
GALE_EXTERN bool gale_sockopt_is_bool(enum gale_sockopt opt);

/**
 * True when value is in the documented range of opt (booleans 0/1, buffer sizes >= 0,
 * LINGER >= -1, TTL 1..255); false for unknown options. Every driver rejects the same
 * values with -EINVAL, so the simulator and epoll agree.
 */
GALE_EXTERN bool gale_sockopt_value_is_valid(enum gale_sockopt opt, int value);

/* Flags for recv/send. */
#define GALE_RECV_PEEK 1u /* recv: return data without consuming it. */

/* shutdown(how): gale's own values, mirroring SHUT_RD / SHUT_WR / SHUT_RDWR. */
enum gale_shutdown {
	GALE_SHUTDOWN_READ = 0,
	GALE_SHUTDOWN_WRITE = 1,
	GALE_SHUTDOWN_BOTH = 2,
};

struct gale_driver;

struct gale_driver_ops {
	uint32_t abi_version; /* GALE_DRIVER_ABI_VERSION. */
	const char *name;     /* "epoll", "sim", "fault(epoll)"... for logs and traces. */

	/*
	 * REQUIRED. Starts watching fd, edge-triggered, for interest (READ and/or WRITE bits).
	 * Errors: -EBADF (fd not open), -EEXIST (fd already registered), -EPERM (fd does not
	 * support polling, e.g. a regular file), -ENOMEM, -ENOSPC (watch limit), -EINVAL.
	 * Like EPOLLET registration, an fd that is already ready reports one event.
	 */
	int (*fd_register)(struct gale_driver *driver, int fd, uint64_t token, uint32_t interest);
	/* REQUIRED. Changes interest/token; re-arms (reports current readiness once).
	 * Errors: -EBADF, -ENOENT (fd not registered), -ENOMEM, -EINVAL. */
	int (*fd_reregister)(struct gale_driver *driver, int fd, uint64_t token,
			     uint32_t interest);
	/* REQUIRED. Stops watching fd. Events already collected for it may still be reported
	 * by a later wait() (stale events); the reactor's generation check drops them.
	 * Errors: -EBADF, -ENOENT. */
	int (*fd_deregister)(struct gale_driver *driver, int fd);
	/*
	 * REQUIRED. Waits up to timeout_ns (-1: no limit, 0: just poll) and stores up to
	 * events_cap events. Returns the count (0 on timeout) or -errno: -EINVAL, -ENOMEM,
	 * GALE_E_STALL (simulated drivers only: timeout -1 with nothing that could ever happen).
	 */
	int (*wait)(struct gale_driver *driver, struct gale_event *events, int events_cap,
		    int64_t timeout_ns);
	/* Optional (NULL: unsupported). Makes a concurrent wait() return early. 0 or -errno. */
	int (*wake)(struct gale_driver *driver);

	/* REQUIRED. Byte count or -EAGAIN, -EBADF, -ECONNRESET, -ENOTCONN, -ETIMEDOUT, -EIO,
	 * -EINVAL, -EFAULT. */
	ssize_t (*read)(struct gale_driver *driver, int fd, void *buf, size_t len);
	/* REQUIRED. Byte count or -EAGAIN, -EBADF, -EPIPE (peer gone; never SIGPIPE),
	 * -ECONNRESET, -ENOTCONN, -EDESTADDRREQ, -ENOSPC, -EIO, -EINVAL, -EFAULT. */
	ssize_t (*write)(struct gale_driver *driver, int fd, const void *buf, size_t len);
	/* Optional: NULL falls back to read of the first non-empty iovec. Errors as read. */
	ssize_t (*readv)(struct gale_driver *driver, int fd, const struct iovec *iov,
			 int iov_count);
	/* Optional: NULL falls back to write of the first non-empty iovec. Errors as write. */
	ssize_t (*writev)(struct gale_driver *driver, int fd, const struct iovec *iov,
			  int iov_count);
	/* REQUIRED. flags: 0 or GALE_RECV_PEEK. Errors as read, plus -ENOTSOCK. */
	ssize_t (*recv)(struct gale_driver *driver, int fd, void *buf, size_t len,
			uint32_t flags);
	/* REQUIRED. flags: 0. Errors as write, plus -ENOTSOCK. */
	ssize_t (*send)(struct gale_driver *driver, int fd, const void *buf, size_t len,
			uint32_t flags);

	/* REQUIRED. New non-blocking, close-on-exec socket fd, or -EAFNOSUPPORT,
	 * -EPROTONOSUPPORT, -EINVAL, -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM, -EACCES. */
	int (*socket)(struct gale_driver *driver, int domain, int type, int protocol);
	/* REQUIRED. 0 or -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EBADF, -EINVAL, -ENOTSOCK,
	 * -EAFNOSUPPORT. */
	int (*bind)(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		    socklen_t addr_len);
	/* REQUIRED. 0 or -EADDRINUSE, -EBADF, -ENOTSOCK, -EOPNOTSUPP, -EINVAL. A backlog
	 * that is negative or above the system's limit means that limit, as for listen(2). */
	int (*listen)(struct gale_driver *driver, int fd, int backlog);
	/* REQUIRED. New non-blocking, close-on-exec fd, or -EAGAIN (nothing pending),
	 * -ECONNABORTED, -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM, -EBADF, -EINVAL, -ENOTSOCK,
	 * -EPROTO, -EPERM. addr_out/addr_len_out may be NULL. */
	int (*accept)(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
		      socklen_t *addr_len_out);
	/* REQUIRED. 0 (connected at once), -EINPROGRESS (completion shows as writability, the
	 * outcome comes from socket_error_take), or -ECONNREFUSED, -ENETUNREACH,
	 * -EHOSTUNREACH, -EADDRNOTAVAIL, -EAFNOSUPPORT, -EALREADY, -EISCONN, -ETIMEDOUT,
	 * -EBADF, -ENOTSOCK, -EINVAL, -EACCES, -EPERM. */
	int (*connect)(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		       socklen_t addr_len);
	/* REQUIRED. Reads and clears SO_ERROR: 0 or the pending error as -errno (e.g.
	 * -ECONNREFUSED). Returns -EBADF / -ENOTSOCK when fd itself is bad. */
	int (*socket_error_take)(struct gale_driver *driver, int fd);
	/* REQUIRED. 0 or -EBADF, -ENOTSOCK, -ENOPROTOOPT, -EINVAL. */
	int (*sockopt_set)(struct gale_driver *driver, int fd, enum gale_sockopt opt, int value);
	/* REQUIRED. 0 with *value_out set, or the errors of sockopt_set. */
	int (*sockopt_get)(struct gale_driver *driver, int fd, enum gale_sockopt opt,
			   int *value_out);
	/* REQUIRED. Local address: 0 or -EBADF, -ENOTSOCK, -ENOBUFS. */
	int (*addr_local)(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			  socklen_t *addr_len_out);
	/* REQUIRED. Peer address: 0 or -EBADF, -ENOTSOCK, -ENOTCONN, -ENOBUFS. */
	int (*addr_peer)(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			 socklen_t *addr_len_out);
	/* REQUIRED. how: enum gale_shutdown. 0 or -EBADF, -ENOTSOCK, -ENOTCONN, -EINVAL. */
	int (*shutdown)(struct gale_driver *driver, int fd, int how);
	/* REQUIRED. Releases fd even when it reports an error (-EIO). Callers deregister first. */
	int (*close)(struct gale_driver *driver, int fd);
	/* REQUIRED. A connected pair of non-blocking stream sockets (AF_UNIX). 0 or -EMFILE,
	 * -ENFILE, -ENOMEM, -EAFNOSUPPORT. */
	int (*socketpair)(struct gale_driver *driver, int fds_out[2]);
	/* REQUIRED. A non-blocking pipe: fds_out[0] reads, fds_out[1] writes. 0 or -EMFILE,
	 * -ENFILE. */
	int (*pipe)(struct gale_driver *driver, int fds_out[2]);

	/* REQUIRED. Puts an fd the caller created elsewhere into non-blocking mode (fds the
	 * driver made are non-blocking already). 0 or -EBADF. */
	int (*fd_nonblocking_set)(struct gale_driver *driver, int fd);

	/* REQUIRED. Monotonic time in ns: virtual under sim, CLOCK_MONOTONIC under epoll. */
	int64_t (*now_ns)(struct gale_driver *driver);

	/* REQUIRED. Releases the driver's own resources (not fds it handed out). */
	void (*deinit)(struct gale_driver *driver);
};

/* The base every driver embeds as its first member (SQLite sqlite3_file pattern). */
struct gale_driver {
	const struct gale_driver_ops *ops; /* Valid after init; NULL after a failed init. */
};

/*
 * Wrappers: the only way call sites reach a driver. Results are exactly the op's results
 * documented above, and every driver gets the same arguments checked the same way (the
 * rule of error.h):
 *   - values out of range return -EINVAL without calling the driver: an interest that is
 *     not READ and/or WRITE (fd_register, fd_reregister), events_cap <= 0 or
 *     timeout_ns < -1 (wait), iov_count < 0 (readv, writev), flags other than
 *     GALE_RECV_PEEK (recv) or other than 0 (send), how outside enum gale_shutdown;
 *   - a NULL pointer where the op requires one (events, buf with len > 0, iov with
 *     iov_count > 0, addr, value_out, fds_out, one of accept's addr_out and addr_len_out
 *     without the other) is asserted;
 *   - the driver's own answer is checked in every build type, NDEBUG included: a
 *     read/write/recv/send count above len or a wait count above events_cap aborts with
 *     "gale: contract broken: ..." (it would overrun the caller's buffer).
 */
GALE_EXTERN int gale_driver_fd_register(struct gale_driver *driver, int fd, uint64_t token,
					uint32_t interest);
GALE_EXTERN int gale_driver_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
					  uint32_t interest);
GALE_EXTERN int gale_driver_fd_deregister(struct gale_driver *driver, int fd);
GALE_EXTERN int gale_driver_wait(struct gale_driver *driver, struct gale_event *events,
				 int events_cap, int64_t timeout_ns);
/** Returns -ENOTSUP when the driver has no wake op. */
GALE_EXTERN int gale_driver_wake(struct gale_driver *driver);
GALE_EXTERN ssize_t gale_driver_read(struct gale_driver *driver, int fd, void *buf, size_t len);
GALE_EXTERN ssize_t gale_driver_write(struct gale_driver *driver, int fd, const void *buf,
				      size_t len);
/** Falls back to read() of the first non-empty iovec when the driver has no readv. */
GALE_EXTERN ssize_t gale_driver_readv(struct gale_driver *driver, int fd,
				      const struct iovec *iov, int iov_count);
/** Falls back to write() of the first non-empty iovec when the driver has no writev. */
GALE_EXTERN ssize_t gale_driver_writev(struct gale_driver *driver, int fd,
				       const struct iovec *iov, int iov_count);
GALE_EXTERN ssize_t gale_driver_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
				     uint32_t flags);
GALE_EXTERN ssize_t gale_driver_send(struct gale_driver *driver, int fd, const void *buf,
				     size_t len, uint32_t flags);
GALE_EXTERN int gale_driver_socket(struct gale_driver *driver, int domain, int type,
				   int protocol);
GALE_EXTERN int gale_driver_bind(struct gale_driver *driver, int fd,
				 const struct sockaddr *addr, socklen_t addr_len);
GALE_EXTERN int gale_driver_listen(struct gale_driver *driver, int fd, int backlog);
GALE_EXTERN int gale_driver_accept(struct gale_driver *driver, int fd,
				   struct sockaddr_storage *addr_out, socklen_t *addr_len_out);
GALE_EXTERN int gale_driver_connect(struct gale_driver *driver, int fd,
				    const struct sockaddr *addr, socklen_t addr_len);
GALE_EXTERN int gale_driver_socket_error_take(struct gale_driver *driver, int fd);
GALE_EXTERN int gale_driver_sockopt_set(struct gale_driver *driver, int fd,
					enum gale_sockopt opt, int value);
GALE_EXTERN int gale_driver_sockopt_get(struct gale_driver *driver, int fd,
					enum gale_sockopt opt, int *value_out);
GALE_EXTERN int gale_driver_addr_local(struct gale_driver *driver, int fd,
				       struct sockaddr_storage *addr_out, socklen_t *addr_len_out);
GALE_EXTERN int gale_driver_addr_peer(struct gale_driver *driver, int fd,
				      struct sockaddr_storage *addr_out, socklen_t *addr_len_out);
GALE_EXTERN int gale_driver_shutdown(struct gale_driver *driver, int fd, int how);
GALE_EXTERN int gale_driver_close(struct gale_driver *driver, int fd);
GALE_EXTERN int gale_driver_socketpair(struct gale_driver *driver, int fds_out[2]);
GALE_EXTERN int gale_driver_pipe(struct gale_driver *driver, int fds_out[2]);
GALE_EXTERN int gale_driver_fd_nonblocking_set(struct gale_driver *driver, int fd);
GALE_EXTERN int64_t gale_driver_now_ns(struct gale_driver *driver);
/** Calls the driver's deinit. Safe on a driver whose ops is NULL (failed init): no-op. */
GALE_EXTERN void gale_driver_deinit(struct gale_driver *driver);

/** Human name of the driver ("epoll", "sim", ...). */
GALE_EXTERN const char *gale_driver_name(const struct gale_driver *driver);

GALE_END_DECLS

#endif /* GALE_IO_DRIVER_H */
