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
#define GALE_DRIVER_ABI_VERSION 2u

/*
 * Capabilities a driver may declare (the caps op): promises about the OS behind it that let
 * the layers above skip work. A driver that cannot keep one must not declare it.
 */
enum gale_driver_cap {
	/* On a stream (a connected SOCK_STREAM socket or a pipe, as its registrant declares:
	 * gale_async_fd_stream_set), a read that returned fewer bytes than asked (but more
	 * than 0) proves the receive queue was empty at that instant, and any byte that
	 * arrives later reports a new READ edge. Linux's tcp_recvmsg, unix_stream_read and
	 * pipe_read copy until the buffer is full or the queue is empty. A driver that
	 * shortens reads itself (fault injection) or emulates edges must not declare it. */
	GALE_DRIVER_CAP_READ_SHORT_DRAINED = 1u << 0,
	/* On a stream, a write that took fewer bytes than offered (but more than 0) proves
	 * the send buffer was full, and freed space reports a new WRITE edge. */
	GALE_DRIVER_CAP_WRITE_SHORT_FULL = 1u << 1,
};

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
	GALE_SOCKOPT_SNDBUF = 3,    /* SO_SNDBUF, bytes. Linux stores twice the value set,
				     * clamped (the simulator too, sim.h): get reads that. */
	GALE_SOCKOPT_RCVBUF = 4,    /* SO_RCVBUF, bytes; doubled and clamped like SNDBUF. */
	GALE_SOCKOPT_LINGER = 5,    /* SO_LINGER, seconds; -1 means off. */
	GALE_SOCKOPT_TTL = 6,       /* IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6), 1..255. */
	GALE_SOCKOPT_V6ONLY = 7,    /* IPV6_V6ONLY, 0 or 1. */
	GALE_SOCKOPT_ACCEPTCONN = 8, /* SO_ACCEPTCONN, 0 or 1: the socket is listening.
				      * Read-only: sockopt_set refuses every value (-EINVAL). */
	GALE_SOCKOPT_COUNT_ = 9,    /* Not an option: the number of options. */
};

/** True for the options whose value is 0 or 1 (NODELAY, REUSEADDR, KEEPALIVE, V6ONLY). */
GALE_EXTERN bool gale_sockopt_is_bool(enum gale_sockopt opt);

/**
 * True when value is in the documented range of opt (booleans 0/1, buffer sizes >= 0,
 * LINGER >= -1, TTL 1..255); false for unknown options and for the read-only ACCEPTCONN.
 * Every driver rejects the same values with -EINVAL, so the simulator and epoll agree.
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

/*
 * THE list of driver ops, one entry each in the order of struct gale_driver_ops. The ops
 * struct, the wrappers (declared; defined when plain), the op ids and names (enum
 * gale_driver_op; enum gale_trace_op in traces and fault plans), the forwards of the
 * forwarding base below and the epoll and sim ops tables are generated from it. So a new
 * op is one entry here, its implementation in each real driver (gale_driver_epoll_<op>,
 * sim_<op>) and, when it checks something, its wrapper in driver.c; decorators forward it
 * and the test script driver refuses it unless they say otherwise. Append only: slots and
 * ids are an ABI that compiled drivers, traces, corpora and fault plans rely on (driver.c
 * pins them); bump GALE_DRIVER_ABI_VERSION.
 *
 * An entry is X(op, OP, ret, fd, wrapper, params, args):
 *   op, OP   the member (ops->op, gale_driver_<op>()) and its id (GALE_DRIVER_OP_<OP>);
 *   ret      the result type;
 *   params   the parameters, always starting with struct gale_driver *driver;
 *   fd       the fd argument the op is about (-1: none), for a forwarding hook;
 *   wrapper  plain (gale_driver_<op>() just calls the op: generated) or checked (driver.c
 *            writes it: it checks arguments or answers, or supplies a fallback);
 *   args     the names of params, in order, to pass a call on.
 * X gets the ops that have an id (every call can be traced and planned); X_NO_ID gets the
 * others (now_ns, deinit). Pass GALE_DRIVER_OP_MAP_SKIP for the half you do not want.
 * The comment above each entry is the op's contract.
 */
#define GALE_DRIVER_OP_MAP(X, X_NO_ID)                                                     \
	/* REQUIRED. Starts watching fd, edge-triggered, for interest (READ and/or         \
	 * WRITE bits). Errors: -EBADF (fd not open), -EEXIST (fd already registered),     \
	 * -EPERM (fd does not support polling, e.g. a regular file), -ENOMEM, -ENOSPC     \
	 * (watch limit), -EINVAL. Like EPOLLET registration, an fd that is already        \
	 * ready reports one event. */                                                     \
	X(fd_register, FD_REGISTER, int, fd, checked,                                      \
	  (struct gale_driver *driver, int fd, uint64_t token, uint32_t interest),         \
	  (driver, fd, token, interest))                                                   \
	/* REQUIRED. Changes interest/token; re-arms (reports current readiness once).     \
	 * Errors: -EBADF, -ENOENT (fd not registered), -ENOMEM, -EINVAL. */               \
	X(fd_reregister, FD_REREGISTER, int, fd, checked,                                  \
	  (struct gale_driver *driver, int fd, uint64_t token, uint32_t interest),         \
	  (driver, fd, token, interest))                                                   \
	/* REQUIRED. Stops watching fd. Events already collected for it may still be       \
	 * reported by a later wait() (stale events); the reactor's generation check       \
	 * drops them. Errors: -EBADF, -ENOENT. */                                         \
	X(fd_deregister, FD_DEREGISTER, int, fd, plain,                                    \
	  (struct gale_driver *driver, int fd),                                            \
	  (driver, fd))                                                                    \
	/* REQUIRED. Waits up to timeout_ns (-1: no limit, 0: just poll) and stores up     \
	 * to events_cap events. Returns the count (0 on timeout) or -errno: -EINVAL,      \
	 * -ENOMEM, GALE_E_STALL (simulated drivers only: timeout -1 with nothing that     \
	 * could ever happen). */                                                          \
	X(wait, WAIT, int, -1, checked,                                                    \
	  (struct gale_driver *driver, struct gale_event *events, int events_cap,          \
	   int64_t timeout_ns),                                                            \
	  (driver, events, events_cap, timeout_ns))                                        \
	/* Optional (NULL: unsupported, and the wrapper returns -ENOTSUP). Makes a         \
	 * concurrent wait() return early; may be called from another thread. 0 or         \
	 * -errno. */                                                                      \
	X(wake, WAKE, int, -1, checked, (struct gale_driver *driver), (driver))            \
	/* REQUIRED. Byte count or -EAGAIN, -EBADF, -ECONNRESET, -ENOTCONN, -ETIMEDOUT,    \
	 * -EIO, -EINVAL, -EFAULT. */                                                      \
	X(read, READ, ssize_t, fd, checked,                                                \
	  (struct gale_driver *driver, int fd, void *buf, size_t len),                     \
	  (driver, fd, buf, len))                                                          \
	/* REQUIRED. Byte count or -EAGAIN, -EBADF, -EPIPE (peer gone; never SIGPIPE),     \
	 * -ECONNRESET, -ENOTCONN, -EDESTADDRREQ, -ENOSPC, -EIO, -EINVAL, -EFAULT. */      \
	X(write, WRITE, ssize_t, fd, checked,                                              \
	  (struct gale_driver *driver, int fd, const void *buf, size_t len),               \
	  (driver, fd, buf, len))                                                          \
	/* Optional: NULL falls back to read of the first non-empty iovec (in the          \
	 * wrapper). Errors as read. */                                                    \
	X(readv, READV, ssize_t, fd, checked,                                              \
	  (struct gale_driver *driver, int fd, const struct iovec *iov, int iov_count),    \
	  (driver, fd, iov, iov_count))                                                    \
	/* Optional: NULL falls back to write of the first non-empty iovec (in the         \
	 * wrapper). Errors as write. */                                                   \
	X(writev, WRITEV, ssize_t, fd, checked,                                            \
	  (struct gale_driver *driver, int fd, const struct iovec *iov, int iov_count),    \
	  (driver, fd, iov, iov_count))                                                    \
	/* REQUIRED. flags: 0 or GALE_RECV_PEEK. Errors as read, plus -ENOTSOCK. */        \
	X(recv, RECV, ssize_t, fd, checked,                                                \
	  (struct gale_driver *driver, int fd, void *buf, size_t len, uint32_t flags),     \
	  (driver, fd, buf, len, flags))                                                   \
	/* REQUIRED. flags: 0. Errors as write, plus -ENOTSOCK. */                         \
	X(send, SEND, ssize_t, fd, checked,                                                \
	  (struct gale_driver *driver, int fd, const void *buf, size_t len,                \
	   uint32_t flags),                                                                \
	  (driver, fd, buf, len, flags))                                                   \
	/* REQUIRED. New non-blocking, close-on-exec socket fd, or -EAFNOSUPPORT,          \
	 * -EPROTONOSUPPORT, -EINVAL, -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM, -EACCES. */     \
	X(socket, SOCKET, int, -1, plain,                                                  \
	  (struct gale_driver *driver, int domain, int type, int protocol),                \
	  (driver, domain, type, protocol))                                                \
	/* REQUIRED. 0 or -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EBADF, -EINVAL,           \
	 * -ENOTSOCK, -EAFNOSUPPORT. */                                                    \
	X(bind, BIND, int, fd, checked,                                                    \
	  (struct gale_driver *driver, int fd, const struct sockaddr *addr,                \
	   socklen_t addr_len),                                                            \
	  (driver, fd, addr, addr_len))                                                    \
	/* REQUIRED. 0 or -EADDRINUSE, -EBADF, -ENOTSOCK, -EOPNOTSUPP, -EINVAL. A          \
	 * backlog that is negative or above the system's limit means that limit, as       \
	 * for listen(2). */                                                               \
	X(listen, LISTEN, int, fd, plain,                                                  \
	  (struct gale_driver *driver, int fd, int backlog),                               \
	  (driver, fd, backlog))                                                           \
	/* REQUIRED. New non-blocking, close-on-exec fd, or -EAGAIN (nothing pending),     \
	 * -ECONNABORTED, -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM, -EBADF, -EINVAL,            \
	 * -ENOTSOCK, -EPROTO, -EPERM. addr_out/addr_len_out may be NULL. */               \
	X(accept, ACCEPT, int, fd, checked,                                                \
	  (struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,          \
	   socklen_t *addr_len_out),                                                       \
	  (driver, fd, addr_out, addr_len_out))                                            \
	/* REQUIRED. 0 (connected at once), -EINPROGRESS (completion shows as              \
	 * writability, the outcome comes from socket_error_take), or -ECONNREFUSED,       \
	 * -ENETUNREACH, -EHOSTUNREACH, -EADDRNOTAVAIL, -EAFNOSUPPORT, -EALREADY,          \
	 * -EISCONN, -ETIMEDOUT, -EBADF, -ENOTSOCK, -EINVAL, -EACCES, -EPERM. */           \
	X(connect, CONNECT, int, fd, checked,                                              \
	  (struct gale_driver *driver, int fd, const struct sockaddr *addr,                \
	   socklen_t addr_len),                                                            \
	  (driver, fd, addr, addr_len))                                                    \
	/* REQUIRED. Reads and clears SO_ERROR: 0 or the pending error as -errno (e.g.     \
	 * -ECONNREFUSED). Returns -EBADF / -ENOTSOCK when fd itself is bad. */            \
	X(socket_error_take, SOCKET_ERROR_TAKE, int, fd, plain,                            \
	  (struct gale_driver *driver, int fd), (driver, fd))                              \
	/* REQUIRED. 0 or -EBADF, -ENOTSOCK, -ENOPROTOOPT, -EINVAL. */                     \
	X(sockopt_set, SOCKOPT_SET, int, fd, plain,                                        \
	  (struct gale_driver *driver, int fd, enum gale_sockopt opt, int value),          \
	  (driver, fd, opt, value))                                                        \
	/* REQUIRED. 0 with *value_out set, or the errors of sockopt_set. */               \
	X(sockopt_get, SOCKOPT_GET, int, fd, checked,                                      \
	  (struct gale_driver *driver, int fd, enum gale_sockopt opt, int *value_out),     \
	  (driver, fd, opt, value_out))                                                    \
	/* REQUIRED. Local address: 0 or -EBADF, -ENOTSOCK, -ENOBUFS. */                   \
	X(addr_local, ADDR_LOCAL, int, fd, checked,                                        \
	  (struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,          \
	   socklen_t *addr_len_out),                                                       \
	  (driver, fd, addr_out, addr_len_out))                                            \
	/* REQUIRED. Peer address: 0 or -EBADF, -ENOTSOCK, -ENOTCONN, -ENOBUFS. */         \
	X(addr_peer, ADDR_PEER, int, fd, checked,                                          \
	  (struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,          \
	   socklen_t *addr_len_out),                                                       \
	  (driver, fd, addr_out, addr_len_out))                                            \
	/* REQUIRED. how: enum gale_shutdown. 0 or -EBADF, -ENOTSOCK, -ENOTCONN,           \
	 * -EINVAL. */                                                                     \
	X(shutdown, SHUTDOWN, int, fd, checked,                                            \
	  (struct gale_driver *driver, int fd, int how),                                   \
	  (driver, fd, how))                                                               \
	/* REQUIRED. Releases fd even when it reports an error (-EIO). Callers             \
	 * deregister first. */                                                            \
	X(close, CLOSE, int, fd, plain,                                                    \
	  (struct gale_driver *driver, int fd), (driver, fd))                              \
	/* REQUIRED. A connected pair of non-blocking stream sockets (AF_UNIX). 0 or       \
	 * -EMFILE, -ENFILE, -ENOMEM, -EAFNOSUPPORT. */                                    \
	X(socketpair, SOCKETPAIR, int, -1, checked,                                        \
	  (struct gale_driver *driver, int fds_out[2]), (driver, fds_out))                 \
	/* REQUIRED. A non-blocking pipe: fds_out[0] reads, fds_out[1] writes. 0 or        \
	 * -EMFILE, -ENFILE. */                                                            \
	X(pipe, PIPE, int, -1, checked, (struct gale_driver *driver, int fds_out[2]),      \
	  (driver, fds_out))                                                               \
	/* REQUIRED. Puts an fd the caller created elsewhere into non-blocking mode        \
	 * (fds the driver made are non-blocking already). 0 or -EBADF. */                 \
	X(fd_nonblocking_set, FD_NONBLOCKING_SET, int, fd, plain,                          \
	  (struct gale_driver *driver, int fd), (driver, fd))                              \
	/* REQUIRED. Monotonic time in ns: virtual under sim, CLOCK_MONOTONIC under        \
	 * epoll. */                                                                       \
	X_NO_ID(now_ns, NOW_NS, int64_t, -1, plain,                                        \
		(struct gale_driver *driver), (driver))                                    \
	/* REQUIRED. Releases the driver's own resources (not fds it handed out). The      \
	 * wrapper is a no-op on a driver whose ops is NULL (a failed init). */            \
	X_NO_ID(deinit, DEINIT, void, -1, checked, (struct gale_driver *driver), (driver))   \
	/* Optional (NULL: none; the wrapper answers 0). What the driver vouches for, as   \
	 * enum gale_driver_cap bits; asked when a stream registers, so the answer must     \
	 * not change while fds are registered. Never fails. */                             \
	X_NO_ID(caps, CAPS, uint32_t, -1, checked, (struct gale_driver *driver), (driver))

/* An X for GALE_DRIVER_OP_MAP that generates nothing. */
#define GALE_DRIVER_OP_MAP_SKIP(...)

struct gale_driver_ops {
	uint32_t abi_version; /* GALE_DRIVER_ABI_VERSION. */
	const char *name;     /* "epoll", "sim", "fault(epoll)"... for logs and traces. */
	/* One pointer per op, in list order; the contracts are in GALE_DRIVER_OP_MAP. */
#define GALE__DRIVER_OP_MEMBER(op, OP, ret, fd, wrapper, params, args) ret(*op) params;
	GALE_DRIVER_OP_MAP(GALE__DRIVER_OP_MEMBER, GALE__DRIVER_OP_MEMBER)
#undef GALE__DRIVER_OP_MEMBER
};

/* The base every driver embeds as its first member (SQLite sqlite3_file pattern). */
struct gale_driver {
	const struct gale_driver_ops *ops; /* Valid after init; NULL after a failed init. */
};

/* The ids of the ops: GALE_DRIVER_OP_READ... (the same values as enum gale_trace_op). */
enum gale_driver_op {
	GALE__DRIVER_OP_NONE = 0, /* Not an op: ids start at 1. */
#define GALE__DRIVER_OP_ID(op, OP, ...) GALE_DRIVER_OP_##OP,
	GALE_DRIVER_OP_MAP(GALE__DRIVER_OP_ID, GALE_DRIVER_OP_MAP_SKIP)
#undef GALE__DRIVER_OP_ID
	GALE_DRIVER_OP_COUNT_ /* Not an op: one past the last id. */
};

/** The op's name as listed ("read", "fd_register"...); "unknown" for any other value. */
GALE_EXTERN const char *gale_driver_op_name(enum gale_driver_op op);

/*
 * Wrappers: the only way call sites reach a driver, one gale_driver_<op>() per op with the
 * op's own signature (GALE_DRIVER_OP_MAP). Results are exactly the op's results documented
 * there, and every driver gets the same arguments checked the same way (the rule of
 * error.h):
 *   - values out of range return -EINVAL without calling the driver: an interest that is
 *     not READ and/or WRITE (fd_register, fd_reregister), events_cap <= 0 or
 *     timeout_ns < -1 (wait), iov_count < 0 (readv, writev), flags other than
 *     GALE_RECV_PEEK (recv) or other than 0 (send), how outside enum gale_shutdown;
 *   - a NULL pointer where the op requires one (events, buf with len > 0, iov with
 *     iov_count > 0, addr, value_out, fds_out, one of accept's addr_out and addr_len_out
 *     without the other) is asserted;
 *   - the driver's own answer is checked in every build type, NDEBUG included: a
 *     read/write/recv/send count above len or a wait count above events_cap aborts with
 *     "gale: contract broken: ..." (it would overrun the caller's buffer);
 *   - an optional op the driver lacks gets the fallback its entry documents (wake:
 *     -ENOTSUP; readv, writev: read or write of the first non-empty iovec);
 *   - gale_driver_deinit() is a no-op on a driver whose ops is NULL (a failed init).
 */
#define GALE__DRIVER_OP_WRAPPER(op, OP, ret, fd, wrapper, params, args)                    \
	GALE_EXTERN ret gale_driver_##op params;
GALE_DRIVER_OP_MAP(GALE__DRIVER_OP_WRAPPER, GALE__DRIVER_OP_WRAPPER)
#undef GALE__DRIVER_OP_WRAPPER

/** Human name of the driver ("epoll", "sim", ...). */
GALE_EXTERN const char *gale_driver_name(const struct gale_driver *driver);

/*
 * The forwarding base of a decorator (SQLite's shim VFS over the real one): a driver that
 * passes every op on to an inner driver, except the ops the decorator overrides. The
 * decorator embeds it first (a union with its own struct gale_driver base keeps that name)
 * and writes only the ops it changes; the rest are forwards through the inner driver's
 * wrappers (so the inner driver's arguments are checked as any caller's).
 */
struct gale_driver_forward {
	struct gale_driver base;    /* Always first: base.ops points at ops below. */
	struct gale_driver_ops ops; /* Per instance: the decorator's ops and forwards. */
	struct gale_driver *inner;  /* Borrowed: where forwards go; never deinit'd here. */
	/*
	 * Optional (NULL: none). Runs before each forwarded op that has an id, except
	 * wake (which may come from another thread), with the op's fd (-1: none): a
	 * negative result is returned instead of forwarding, 0 forwards. The ops the
	 * decorator writes itself do not run it.
	 */
	int (*before)(struct gale_driver_forward *forward, enum gale_driver_op op, int fd);
};

/**
 * Starts a decorator's forwarding base in place: ops becomes a copy of *overrides in
 * which every NULL op (deinit excepted) forwards to inner, then base.ops points at it.
 *
 * @param forward    caller-allocated, usually the start of the decorator; must not move
 *                   while in use.
 * @param inner      an initialised driver; borrowed, never deinit'd by the forwards.
 * @param overrides  abi_version GALE_DRIVER_ABI_VERSION, the ops the decorator writes
 *                   itself, and deinit (required: only the decorator knows what it owns).
 *                   Copied.
 * @param name       the driver's name (borrowed for the decorator's lifetime), or NULL
 *                   for overrides->name.
 * @param before     the hook described in struct gale_driver_forward, or NULL.
 * Never fails. A decorator recovers itself from forward (or from its base) by a cast.
 */
GALE_EXTERN void gale_driver_forward_init(
	struct gale_driver_forward *forward, struct gale_driver *inner,
	const struct gale_driver_ops *overrides, const char *name,
	int (*before)(struct gale_driver_forward *forward, enum gale_driver_op op, int fd));

GALE_END_DECLS

#endif /* GALE_IO_DRIVER_H */
