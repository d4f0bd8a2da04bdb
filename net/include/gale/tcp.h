/* SPDX-License-Identifier: MIT */
/*
 * TCP streams and listeners over the driver seam (Tokio's TcpStream and TcpListener).
 *
 * Every byte and every socket call goes through the runtime's driver (gale_runtime_driver),
 * so the same code runs on epoll, on the fault driver and on the simulator. A stream embeds
 * an AsyncFd and follows its edge-triggered rule on every path: try the operation while
 * readiness is set; an operation that reports -EAGAIN clears readiness (with the reactor's
 * tick rule), and so does a plain read (write) that moved fewer bytes than asked (offered)
 * where the driver vouches that this proves the socket drained (full): epoll does
 * (GALE_DRIVER_CAP_READ_SHORT_DRAINED / _WRITE_SHORT_FULL, Tokio's rule on Linux), the
 * fault driver does not while it shortens reads or writes itself. Elsewhere, and for peeks
 * and vectored calls, a short count keeps readiness. The read and write paths allocate
 * nothing and make exactly one driver call per successful read or write.
 *
 * Common results: 0 / byte counts on success; GALE_PENDING from poll functions only after
 * cx's waker was stored; -errno from the driver (-ECONNRESET, -EPIPE, ... never SIGPIPE);
 * GALE_E_CLOSED for any operation on a stream or listener that is closed (or was never
 * opened: a zeroed object counts as closed). -EAGAIN reaches callers only from _try_*.
 * Bad values (an iov_count outside [0, GALE_ASYNC_IO_IOV_MAX], an interest that is not
 * READ and/or WRITE, a negative backlog, an address of no family) are -EINVAL or
 * -EAFNOSUPPORT; NULL object pointers and polling a completed future are asserted
 * (error.h states the rule).
 * Objects are caller-allocated; none may move while a future or waker refers to it.
 * Thread affinity: the runtime's thread.
 */
#ifndef GALE_NET_TCP_H
#define GALE_NET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <gale/async_fd.h>
#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/split.h>
#include <gale/task.h>
#include <gale/time.h>

GALE_BEGIN_DECLS

/* ==== Stream ============================================================================= */

/*
 * A connected TCP socket. Caller-allocated; filled by gale_tcp_connect_poll(),
 * gale_tcp_listener_poll_accept() or gale_tcp_stream_from_fd(). It must not move while a
 * future (ready, peek) borrows it or while it is the core of owned halves.
 */
struct gale_tcp_stream {
	/* Private: do not touch. 32 bytes, one per connection: no driver pointer (the runtime
	 * has it, and only the rare calls want it); the open flag is a byte beside the others. */
	struct gale_async_fd priv_async_fd; /* Registration and fd (READ and WRITE). */
	int priv_fd;                        /* The AsyncFd's fd, cached for the hot path. */
	bool priv_is_open;                  /* Registered and owned (false: closed; zeroed
					     * streams are closed). */
	uint8_t priv_halves_live;           /* Owned halves still alive (into_split). */
	bool priv_is_split;                 /* Owned by its halves: close/into_fd refuse. */
	bool priv_is_write_shutdown;        /* The write side was shut down by gale. */
};

/**
 * Wraps a connected stream socket the caller made elsewhere, taking ownership on success.
 * The fd is put into non-blocking mode through the driver and registered for READ and
 * WRITE readiness.
 *
 * @param stream   caller-allocated; filled in place.
 * @param runtime  borrowed until the stream is closed or into_fd'd.
 * @param fd       ownership transferred on success only.
 * @return 0; -EBADF (fd not open), -EPERM (fd cannot be polled), -EEXIST (fd already
 *         registered), -ENOSPC (reactor full), -ENOMEM. On failure the fd stays the
 *         caller's and the stream reads as closed.
 */
GALE_EXTERN int gale_tcp_stream_from_fd(struct gale_tcp_stream *stream,
					struct gale_runtime *runtime, int fd);

/**
 * Deregisters and hands the fd back (still non-blocking). Waiters see GALE_E_CLOSED.
 * @param fd_out  set on success; the caller owns the fd.
 * @return 0; GALE_E_CLOSED (closed already); -EBUSY (the stream is split into owned
 *         halves: reunite first).
 */
GALE_EXTERN int gale_tcp_stream_into_fd(struct gale_tcp_stream *stream, int *fd_out);

/**
 * Deregisters (every waiter is woken and then sees GALE_E_CLOSED) and closes the fd.
 * Later operations return GALE_E_CLOSED. Unread data received before the close makes the
 * kernel send a reset to the peer, as close(2) does.
 * @return 0; the driver's close error (the fd is released all the same); GALE_E_CLOSED
 *         (already closed: calling twice is harmless); -EBUSY (split into owned halves).
 */
GALE_EXTERN int gale_tcp_stream_close(struct gale_tcp_stream *stream);

/** True while the stream owns an open, registered fd. */
GALE_EXTERN bool gale_tcp_stream_is_open(const struct gale_tcp_stream *stream);

/** The fd (still owned by the stream), or -1 when closed. */
GALE_EXTERN int gale_tcp_stream_fd(const struct gale_tcp_stream *stream);

/** The runtime the stream is registered with (NULL for a zeroed stream). */
GALE_EXTERN struct gale_runtime *gale_tcp_stream_runtime(const struct gale_tcp_stream *stream);

/**
 * The local address the stream is bound to.
 * @return 0 (addr_out set); GALE_E_CLOSED; the driver's addr_local error (-ENOBUFS,
 *         -ENOTSOCK); -EAFNOSUPPORT for a socket that is not IPv4/IPv6.
 */
GALE_EXTERN int gale_tcp_stream_local_addr(const struct gale_tcp_stream *stream,
					   struct gale_socket_addr *addr_out);

/**
 * The remote address the stream is connected to.
 * @return 0 (addr_out set); GALE_E_CLOSED; -ENOTCONN (not connected, e.g. after a reset);
 *         the driver's other addr_peer errors; -EAFNOSUPPORT.
 */
GALE_EXTERN int gale_tcp_stream_peer_addr(const struct gale_tcp_stream *stream,
					  struct gale_socket_addr *addr_out);

/**
 * Reads and clears the socket's pending error (SO_ERROR).
 * @param error_out  set on success: 0 (no error pending) or the pending error as -errno.
 * @return 0; GALE_E_CLOSED.
 */
GALE_EXTERN int gale_tcp_stream_take_error(struct gale_tcp_stream *stream, int *error_out);

/* ---- Non-blocking attempts (pair them with the ready futures or poll_*_ready) ---- */

/**
 * Reads up to len bytes if the stream is read-ready. Makes no syscall when readiness is
 * clear. If the driver reports -EAGAIN, or a short count the driver vouches for (file
 * comment), the read readiness is cleared (the next readiness wait then waits for a new
 * edge). Stores no waker.
 * @param buf  borrowed for the call; NULL only when len == 0.
 * @return bytes read (0: end of stream, or len == 0); -EAGAIN (not ready); GALE_E_CLOSED;
 *         the driver's read error (-ECONNRESET, -ETIMEDOUT, ...).
 */
GALE_EXTERN ssize_t gale_tcp_stream_try_read(struct gale_tcp_stream *stream, void *buf,
					     size_t len);

/** try_read into the iovecs in order (readv). iov is borrowed for the call.
 * @return as try_read; -EINVAL (iov_count outside [0, GALE_ASYNC_IO_IOV_MAX]). */
GALE_EXTERN ssize_t gale_tcp_stream_try_read_vectored(struct gale_tcp_stream *stream,
						      const struct iovec *iov, int iov_count);

/**
 * Writes up to len bytes if the stream is write-ready; the write-side twin of try_read.
 * @return bytes written (a short count is normal; readiness stays set unless the driver
 *         vouches that it proves the buffer full: file comment); -EAGAIN;
 *         GALE_E_CLOSED; -EPIPE (after shutdown(WRITE) or when the peer is gone);
 *         -ECONNRESET; the driver's other write errors. Never raises SIGPIPE.
 */
GALE_EXTERN ssize_t gale_tcp_stream_try_write(struct gale_tcp_stream *stream, const void *buf,
					      size_t len);

/** try_write of the iovecs' concatenation (writev). iov is borrowed for the call.
 * @return as try_write; -EINVAL (iov_count outside [0, GALE_ASYNC_IO_IOV_MAX]). */
GALE_EXTERN ssize_t gale_tcp_stream_try_write_vectored(struct gale_tcp_stream *stream,
						       const struct iovec *iov, int iov_count);

/**
 * Copies up to len received bytes without consuming them (recv with GALE_RECV_PEEK), if
 * read-ready; otherwise as try_read. A later read returns the same bytes.
 * @return bytes peeked (0: end of stream); -EAGAIN; GALE_E_CLOSED; the driver's error.
 */
GALE_EXTERN ssize_t gale_tcp_stream_try_peek(struct gale_tcp_stream *stream, void *buf,
					     size_t len);

/* ---- Poll-style readiness and I/O (one waker slot per direction) ---- */

/**
 * Polls read readiness. The stream keeps one waker for the read direction and one for
 * the write direction: on repeated calls only the most recent caller of the read-direction
 * polls (poll_read_ready, poll_read, poll_peek) is woken; the write direction's waker is
 * independent. That is what lets a reader task and a writer task share one stream.
 * @return 0 (read-ready, or end/hang-up/error pending: an attempt will tell); GALE_PENDING
 *         (waker stored); GALE_E_CLOSED.
 */
GALE_EXTERN int gale_tcp_stream_poll_read_ready(struct gale_tcp_stream *stream,
						struct gale_cx *cx);

/** Polls write readiness; the write direction's twin of poll_read_ready. */
GALE_EXTERN int gale_tcp_stream_poll_write_ready(struct gale_tcp_stream *stream,
						 struct gale_cx *cx);

/**
 * Reads into the unfilled part of rb: read readiness, one driver read; on -EAGAIN clear
 * readiness and poll again (which stores the waker); on a short read the driver vouches
 * for (file comment) clear it too, so the next poll waits without a syscall. The reader
 * interface's poll_read.
 * @return 0 (rb->len_filled grew by n; n == 0 with free space is end of stream; a full
 *         rb returns 0 at once without a syscall); GALE_PENDING (read-direction waker
 *         stored); GALE_E_CLOSED; the driver's read error (nothing read).
 */
GALE_EXTERN int gale_tcp_stream_poll_read(struct gale_tcp_stream *stream, struct gale_cx *cx,
					  struct gale_read_buf *rb);

/**
 * Peeks into the unfilled part of rb (recv with GALE_RECV_PEEK), waiting for read
 * readiness like poll_read; the bytes stay in the socket.
 * @return as poll_read.
 */
GALE_EXTERN int gale_tcp_stream_poll_peek(struct gale_tcp_stream *stream, struct gale_cx *cx,
					  struct gale_read_buf *rb);

/**
 * Writes up to len bytes of buf: write readiness, one driver write; -EAGAIN clears and
 * polls again. The writer interface's poll_write.
 * @param len_written_out  n on 0 (1 <= n <= len, or 0 when len == 0), 0 otherwise.
 * @return 0; GALE_PENDING (write-direction waker stored); GALE_E_CLOSED; -EPIPE (after
 *         shutdown or once the peer is gone); -ECONNRESET; other driver write errors.
 */
GALE_EXTERN int gale_tcp_stream_poll_write(struct gale_tcp_stream *stream, struct gale_cx *cx,
					   const void *buf, size_t len,
					   size_t *len_written_out);

/** poll_write of the concatenation of iov[0, iov_count) with one writev through the driver.
 * @return as poll_write; -EINVAL (iov_count outside [0, GALE_ASYNC_IO_IOV_MAX]). */
GALE_EXTERN int gale_tcp_stream_poll_writev(struct gale_tcp_stream *stream, struct gale_cx *cx,
					    const struct iovec *iov, int iov_count,
					    size_t *len_written_out);

/**
 * Shuts the write direction down (TCP has no userspace buffer, so nothing to flush): the
 * peer reads end of stream after the last byte; reading still works; later writes fail
 * with -EPIPE. Returns 0 at once; a second call returns 0 without a syscall. A connection
 * that is already gone (the peer reset it, or both sides finished) counts as shut down:
 * 0, never -ENOTCONN, on every driver (Tokio: NotConnected is not an error here, PR
 * #7290). Idempotent. The writer's poll_shutdown (gale_async_write_poll_shutdown on
 * gale_tcp_stream_writer) is this function.
 * @return 0; GALE_E_CLOSED; the driver's other shutdown errors (none for a connected
 *         stream socket).
 */
GALE_EXTERN int gale_tcp_stream_poll_shutdown(struct gale_tcp_stream *stream,
					      struct gale_cx *cx);

/**
 * The stream as a reader: its AsyncFd's (gale_async_fd_reader(), ops name "async_fd"),
 * so a read is one call level shorter. The fat pointer borrows stream; it is valid while
 * the stream is open and must not outlive the struct.
 */
GALE_EXTERN struct gale_async_read gale_tcp_stream_reader(struct gale_tcp_stream *stream);

/**
 * The stream as a writer (ops name "tcp"): poll_write, poll_writev (vectored: true),
 * poll_flush (0 at once: no userspace buffering) and poll_shutdown (shutdown(WRITE)).
 * Borrows stream like gale_tcp_stream_reader().
 */
GALE_EXTERN struct gale_async_write gale_tcp_stream_writer(struct gale_tcp_stream *stream);

/** Both fat pointers at once (for copy_bidirectional and gale_split). Borrows stream. */
GALE_EXTERN struct gale_async_stream gale_tcp_stream_async_stream(struct gale_tcp_stream *stream);

/**
 * Shuts down one or both directions now (shutdown(2) through the driver). WRITE makes the
 * peer read end of stream; READ makes local reads return 0. Shutting down a connection
 * that is already gone (reset by the peer, or finished by both sides: the kernel's
 * -ENOTCONN) is not an error and returns 0, on epoll and on the simulator alike, so
 * repeated calls are harmless. The driver op itself still answers -ENOTCONN there.
 * @param how  GALE_SHUTDOWN_READ, GALE_SHUTDOWN_WRITE or GALE_SHUTDOWN_BOTH.
 * @return 0; GALE_E_CLOSED; -EINVAL (how is none of those).
 */
GALE_EXTERN int gale_tcp_stream_shutdown(struct gale_tcp_stream *stream, int how);

/* ---- Socket options ---- */

/** TCP_NODELAY. @return 0; GALE_E_CLOSED; the driver's sockopt error. */
GALE_EXTERN int gale_tcp_stream_nodelay_set(struct gale_tcp_stream *stream, bool nodelay);
/** @param nodelay_out  set on 0. @return as nodelay_set. */
GALE_EXTERN int gale_tcp_stream_nodelay_get(struct gale_tcp_stream *stream, bool *nodelay_out);

/**
 * SO_LINGER in seconds; -1 turns lingering off (the default). With 0 a close resets the
 * connection instead of the orderly FIN.
 * @return 0; GALE_E_CLOSED; -EINVAL (seconds < -1); the driver's sockopt error.
 */
GALE_EXTERN int gale_tcp_stream_linger_set(struct gale_tcp_stream *stream, int seconds);
/** @param seconds_out  set on 0 (-1: off). @return as linger_set. */
GALE_EXTERN int gale_tcp_stream_linger_get(struct gale_tcp_stream *stream, int *seconds_out);

/**
 * IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6).
 * @return 0; GALE_E_CLOSED; -EINVAL (outside 1..255); the driver's sockopt error.
 */
GALE_EXTERN int gale_tcp_stream_ttl_set(struct gale_tcp_stream *stream, int ttl);
/** @param ttl_out  set on 0. @return as ttl_set. */
GALE_EXTERN int gale_tcp_stream_ttl_get(struct gale_tcp_stream *stream, int *ttl_out);

/* ---- readable() / writable() / ready(interest) futures: any number of waiters ---- */

struct gale_tcp_ready {
	/* Private: do not touch. */
	struct gale_async_fd_ready priv_ready; /* The AsyncFd readiness future. */
	struct gale_tcp_stream *priv_stream;   /* Borrowed until completion or deinit. */
};

/**
 * Prepares a wait for any of interest (GALE_READY_READ and/or GALE_READY_WRITE; any other
 * value makes the poll return -EINVAL).
 * @param stream  borrowed until the future completes or is deinit'd; must stay in place.
 */
GALE_EXTERN void gale_tcp_ready_init(struct gale_tcp_ready *future, struct gale_tcp_stream *stream,
				     uint32_t interest);
/** ready(GALE_READY_READ). */
GALE_EXTERN void gale_tcp_readable_init(struct gale_tcp_ready *future,
					struct gale_tcp_stream *stream);
/** ready(GALE_READY_WRITE). */
GALE_EXTERN void gale_tcp_writable_init(struct gale_tcp_ready *future,
					struct gale_tcp_stream *stream);

/**
 * Completes once readiness within the interest is set. Nothing is consumed: readiness
 * stays set until a _try_* call (or a poll_* I/O) observes -EAGAIN, so the readiness may
 * be a false positive and the attempt that follows may still return -EAGAIN.
 * @param ready_out  set on 0: enum gale_ready bits (READ/WRITE within the interest, plus
 *                   RDHUP/HUP/ERROR when reported). May be NULL.
 * @return 0; GALE_PENDING (future linked as a waiter; must not move); GALE_E_CLOSED;
 *         -EINVAL (the interest given to init is not READ and/or WRITE).
 * Cancel safety: yes. gale_tcp_ready_deinit() unlinks it and loses nothing.
 */
GALE_EXTERN int gale_tcp_ready_poll(struct gale_tcp_ready *future, struct gale_cx *cx,
				    uint32_t *ready_out);

/** Unlinks the waiter if pending. Safe after completion and on a stream closed since. */
GALE_EXTERN void gale_tcp_ready_deinit(struct gale_tcp_ready *future);

/* ---- peek future: waits for readability, then recv(PEEK); many waiters allowed ---- */

struct gale_tcp_peek {
	/* Private: do not touch. */
	struct gale_async_fd_io priv_io;     /* Readiness wait + the recv(PEEK) attempt. */
	struct gale_tcp_stream *priv_stream; /* Borrowed. */
	struct gale_read_buf priv_rb;        /* Destination, borrowed until completion or deinit
					      * (never advanced: a peek consumes nothing). */
};

/** Prepares a peek of up to len bytes. stream and buf are borrowed until done or deinit. */
GALE_EXTERN void gale_tcp_peek_init(struct gale_tcp_peek *future, struct gale_tcp_stream *stream,
				    void *buf, size_t len);

/**
 * @param len_peeked_out  set on 0: bytes copied (0: end of stream).
 * @return 0; GALE_PENDING; GALE_E_CLOSED; the driver's recv error.
 * Cancel safety: yes. Peeking consumes nothing.
 */
GALE_EXTERN int gale_tcp_peek_poll(struct gale_tcp_peek *future, struct gale_cx *cx,
				   size_t *len_peeked_out);

/** Unlinks the waiter if pending. */
GALE_EXTERN void gale_tcp_peek_deinit(struct gale_tcp_peek *future);

/* ==== Splitting ========================================================================== */

/**
 * Borrowed halves: prepares split so gale_split_read_half(split) and
 * gale_split_write_half(split) are a read view and a write view of stream that two tasks
 * poll independently (the stream keeps one waker per direction, so neither task's wakeup
 * is lost). The views own nothing: the stream stays the owner; close it when both are
 * done. Shutting the write half down ends the write direction only.
 * @param split  caller-allocated; must not move while the halves are used.
 */
GALE_EXTERN void gale_tcp_stream_split(struct gale_tcp_stream *stream, struct gale_split *split);

/*
 * Owned halves (into_split). The halves share one core, which is the caller-allocated
 * stream itself: gale allocates nothing, so the struct gale_tcp_stream passed to
 * gale_tcp_stream_into_split() must stay at its address, untouched, until both halves
 * are deinit'd or reunited. Deinit'ing the write half shuts the write direction down (the
 * peer reads end of stream); the stream is closed when the second half is deinit'd.
 */
struct gale_tcp_owned_read_half {
	/* Private: do not touch. */
	struct gale_tcp_stream *priv_stream; /* The shared core; NULL once deinit'd. */
};

struct gale_tcp_owned_write_half {
	/* Private: do not touch. */
	struct gale_tcp_stream *priv_stream; /* The shared core; NULL once deinit'd. */
};

/**
 * Splits an open stream into owned halves that share stream as their core.
 * @return 0; GALE_E_CLOSED; -EBUSY (already split). On failure the halves read as
 *         deinit'd and the stream is unchanged.
 */
GALE_EXTERN int gale_tcp_stream_into_split(struct gale_tcp_stream *stream,
					   struct gale_tcp_owned_read_half *read_half_out,
					   struct gale_tcp_owned_write_half *write_half_out);

/** The read half as a reader (borrows the core). */
GALE_EXTERN struct gale_async_read
gale_tcp_owned_read_half_reader(struct gale_tcp_owned_read_half *half);

/** The write half as a writer (borrows the core); its shutdown ends the write direction. */
GALE_EXTERN struct gale_async_write
gale_tcp_owned_write_half_writer(struct gale_tcp_owned_write_half *half);

/**
 * The shared core, for the read-direction calls (try_read, peek, readable, addresses)
 * the half may make. Borrowed; NULL after deinit.
 */
GALE_EXTERN struct gale_tcp_stream *
gale_tcp_owned_read_half_stream(const struct gale_tcp_owned_read_half *half);

/** The shared core, for write-direction calls (try_write, writable, options). */
GALE_EXTERN struct gale_tcp_stream *
gale_tcp_owned_write_half_stream(const struct gale_tcp_owned_write_half *half);

/**
 * Drops the read half. If the write half is gone too, the stream is closed.
 * @return 0, or the close error when this closed the stream. Idempotent: a deinit'd half
 *         returns 0.
 */
GALE_EXTERN int gale_tcp_owned_read_half_deinit(struct gale_tcp_owned_read_half *half);

/**
 * Drops the write half: shuts the write direction down (unless already shut down; a
 * connection already gone is not an error, as for gale_tcp_stream_shutdown()), then closes
 * the stream if the read half is gone too.
 * @return 0, the shutdown error, or the close error. Idempotent.
 */
GALE_EXTERN int gale_tcp_owned_write_half_deinit(struct gale_tcp_owned_write_half *half);

/**
 * Puts the halves back together. On 0 both halves are consumed (deinit'd without closing
 * or shutting down anything) and stream_out holds the stream, which may be the core
 * itself; a different stream_out receives the moved stream and the core reads as closed
 * (no future may be borrowing the core then).
 * @return 0; -EINVAL ("halves of different streams": both halves are left intact and
 *         still usable; stream_out is untouched).
 */
GALE_EXTERN int gale_tcp_reunite(struct gale_tcp_owned_read_half *read_half,
				 struct gale_tcp_owned_write_half *write_half,
				 struct gale_tcp_stream *stream_out);

/* ==== Connect ============================================================================ */

/*
 * The connect future: tries addrs[0], addrs[1], ... in order (socket, non-blocking connect,
 * wait for writability, read SO_ERROR) and completes with the first connection made, or
 * with the error of the last attempt when every address failed.
 */
struct gale_tcp_connect {
	/* Private: do not touch. */
	struct gale_runtime *priv_runtime;         /* Borrowed. */
	const struct gale_socket_addr *priv_addrs; /* Borrowed until done or deinit. */
	size_t priv_addr_count;                    /* Entries in priv_addrs. */
	size_t priv_addr_index;                    /* Next address to try. */
	const struct gale_socket_addr *priv_local; /* Source to bind first, or NULL. */
	struct gale_async_fd priv_async_fd;        /* The socket being connected. */
	bool priv_is_in_flight;                    /* priv_async_fd holds an attempt. */
	bool priv_is_done;                         /* Completed: polling again asserts. */
	int priv_error_last;                       /* The last attempt's error. */
};

/**
 * Prepares a connect. Calls nothing, allocates nothing.
 * @param runtime     borrowed until the stream produced is closed.
 * @param addrs       addr_count addresses, borrowed until completion or deinit.
 */
GALE_EXTERN void gale_tcp_connect_init(struct gale_tcp_connect *future,
				       struct gale_runtime *runtime,
				       const struct gale_socket_addr *addrs, size_t addr_count);

/**
 * Binds each attempt's socket to local before it connects (Tokio: TcpSocket::bind, then
 * connect): the connection's source address, with port 0 for an ephemeral port. On the
 * simulator this is how a client on host B (not the first host added) connects from its
 * own address. Call it before the first poll.
 * @param local  borrowed until completion or deinit; NULL: no bind (the kernel picks).
 * An attempt whose bind fails (-EADDRNOTAVAIL: no host owns the address, -EADDRINUSE,
 * -EINVAL: another family than the destination's) fails like a refused connect, and the
 * next address is tried.
 */
GALE_EXTERN void gale_tcp_connect_bind(struct gale_tcp_connect *future,
				       const struct gale_socket_addr *local);

/**
 * @param stream_out  caller-allocated; filled on 0 (it then owns the socket).
 * @return 0 (connected); GALE_PENDING (an attempt is in flight; woken on writability);
 *         the last attempt's error when every address failed: -ECONNREFUSED,
 *         -ETIMEDOUT, -ENETUNREACH, -EHOSTUNREACH, -EADDRNOTAVAIL, -EMFILE, -ENOSPC
 *         (reactor full), -EAFNOSUPPORT (an address that is neither IPv4 nor IPv6, such
 *         as the zeroed one a failed parse leaves: it fails like a refused socket() and
 *         the next address is tried), ...; -EINVAL when addr_count is 0. Polling again
 *         after completion is asserted.
 * Cancel safety: yes, nothing is lost: gale_tcp_connect_deinit() closes the socket of an
 * attempt in flight (the half-open connection is abandoned).
 */
GALE_EXTERN int gale_tcp_connect_poll(struct gale_tcp_connect *future, struct gale_cx *cx,
				      struct gale_tcp_stream *stream_out);

/** Closes the in-flight socket, if any. Safe after completion; idempotent. */
GALE_EXTERN void gale_tcp_connect_deinit(struct gale_tcp_connect *future);

/* ==== Listener =========================================================================== */

/* Backlog used when bind is given 0. */
#define GALE_TCP_LISTENER_BACKLOG_DEFAULT 1024
/* Accept back-off after -EMFILE/-ENFILE/-ENOBUFS/-ENOMEM: first delay, doubling to max. */
#define GALE_TCP_ACCEPT_BACKOFF_NS_MIN (10 * 1000 * 1000LL)
#define GALE_TCP_ACCEPT_BACKOFF_NS_MAX (1000 * 1000 * 1000LL)

struct gale_tcp_listener_stats {
	uint64_t accept_attempts_count; /* Driver accept calls (every outcome). */
	uint64_t accepts_count;         /* Connections handed out. */
	uint64_t skips_count;           /* -ECONNABORTED / -EPROTO skipped. */
	uint64_t backoffs_count;        /* Resource errors that started or extended a back-off. */
};

struct gale_tcp_accept;

struct gale_tcp_listener {
	/* Private: do not touch. */
	struct gale_async_fd priv_async_fd;        /* Registration (READ) and the fd. */
	struct gale_sleep priv_sleep;              /* poll_accept's back-off timer. */
	struct gale_waker priv_backoff_waker;      /* poll_accept's caller while backing off. */
	struct gale_tcp_accept *priv_backoff_head; /* Accept futures backing off (close wakes). */
	int64_t priv_backoff_ns;                   /* Current delay; 0 = not backing off. */
	int64_t priv_retry_deadline_ns;            /* No accept before this instant. */
	struct gale_tcp_listener_stats priv_stats; /* Counters. */
};

/**
 * Creates a listening socket: SO_REUSEADDR on, bound to addr (IPv4 or IPv6; port 0 picks
 * an ephemeral port, see local_addr), listen(backlog), registered for READ readiness.
 * @param listener  caller-allocated; filled in place.
 * @param runtime   borrowed until close.
 * @param addr      borrowed for the call.
 * @param backlog   > 0, or 0 for GALE_TCP_LISTENER_BACKLOG_DEFAULT; negative: -EINVAL.
 * @return 0; -EINVAL (backlog < 0); -EAFNOSUPPORT (addr neither IPv4 nor IPv6, e.g.
 *         zeroed); -EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EMFILE, -ENFILE, -ENOSPC
 *         (reactor full), ... On failure nothing stays open and the listener reads as
 *         closed.
 */
GALE_EXTERN int gale_tcp_listener_bind(struct gale_tcp_listener *listener,
				       struct gale_runtime *runtime,
				       const struct gale_socket_addr *addr, int backlog);

/**
 * Wraps a listening TCP socket someone else made (Tokio's TcpListener::from_std): one
 * inherited from a parent, shared by pre-forked workers, or passed by socket activation.
 * The fd is checked first, through the driver: it must be a TCP socket (IPv4 or IPv6)
 * on which listen() was called already (gale does not call listen or bind for you). It is
 * then put into non-blocking mode and registered for READ readiness, and the listener
 * takes ownership: gale_tcp_listener_close() closes it. Accepts follow the error policy
 * of gale_tcp_listener_poll_accept().
 * @param listener  caller-allocated; filled in place.
 * @param runtime   borrowed until close.
 * @param fd        ownership transferred on success only.
 * @return 0; -EBADF (fd is not open); -ENOTSOCK (not a socket: a pipe, a file...);
 *         -EAFNOSUPPORT (a socket of another family, e.g. AF_UNIX); -EPROTOTYPE (an IPv4
 *         or IPv6 socket that is not TCP, e.g. UDP); -EINVAL (a TCP socket that is not
 *         listening); -EEXIST (fd already registered); -ENOSPC (reactor full); -ENOMEM.
 *         On failure the fd stays the caller's, open (it may have been made non-blocking
 *         by then), and the listener reads as closed.
 */
GALE_EXTERN int gale_tcp_listener_from_fd(struct gale_tcp_listener *listener,
					  struct gale_runtime *runtime, int fd);

/**
 * bind for "a.b.c.d:port" / "[v6]:port" text.
 * @return as gale_tcp_listener_bind, and -EINVAL for text that does not parse.
 */
GALE_EXTERN int gale_tcp_listener_bind_text(struct gale_tcp_listener *listener,
					    struct gale_runtime *runtime, const char *text,
					    int backlog);

/** The bound address (the real port after binding port 0). 0, GALE_E_CLOSED or -errno. */
GALE_EXTERN int gale_tcp_listener_local_addr(const struct gale_tcp_listener *listener,
					     struct gale_socket_addr *addr_out);

/**
 * Accepts one connection. Uses the listener's single read waker slot and single back-off
 * timer: one task at a time (the most recent caller is woken); use the accept future for
 * several.
 *
 * Error policy: -ECONNABORTED and -EPROTO (the peer gave up before we accepted) are
 * skipped and the next connection is tried. -EMFILE, -ENFILE, -ENOBUFS and -ENOMEM (out of
 * descriptors or memory) are NOT returned: the listener backs off on a timer, 10 ms at
 * first and doubling to 1 s, during which it makes no accept call (no busy loop, no lost
 * listener; the pending connection stays in the kernel's backlog), then tries again; the
 * first success resets the delay.
 *
 * @param stream_out     caller-allocated; filled on 0 (it owns the new socket).
 * @param peer_addr_out  the peer's address on 0; may be NULL.
 * @return 0; GALE_PENDING (waker stored with the reactor or the back-off timer);
 *         GALE_E_CLOSED; -ENOSPC (reactor full: that connection is closed, the listener
 *         keeps working); other driver accept errors (-EINVAL, -EPERM, ...).
 */
GALE_EXTERN int gale_tcp_listener_poll_accept(struct gale_tcp_listener *listener,
					      struct gale_cx *cx,
					      struct gale_tcp_stream *stream_out,
					      struct gale_socket_addr *peer_addr_out);

/**
 * Deregisters and closes the fd. Every accept waiting on the listener, for readiness or on
 * a back-off timer, is woken (timers disarmed) and then sees GALE_E_CLOSED.
 * @return 0; the driver's close error; GALE_E_CLOSED when already closed.
 */
GALE_EXTERN int gale_tcp_listener_close(struct gale_tcp_listener *listener);

/** The listening fd (still owned), or -1 when closed. */
GALE_EXTERN int gale_tcp_listener_fd(const struct gale_tcp_listener *listener);

/** Counters since bind. */
GALE_EXTERN struct gale_tcp_listener_stats
gale_tcp_listener_stats_get(const struct gale_tcp_listener *listener);

/*
 * The accept future: like poll_accept, but each future has its own readiness waiter and
 * its own back-off timer, so any number of tasks may accept on one listener.
 * Caller-allocated; must not move while pending (the listener links it while it backs off).
 */
struct gale_tcp_accept {
	/* Private: do not touch. */
	struct gale_tcp_listener *priv_listener;   /* Borrowed until completion or deinit. */
	struct gale_async_fd_ready priv_ready;     /* Readiness waiter. */
	struct gale_sleep priv_sleep;              /* This future's back-off timer. */
	struct gale_waker priv_backoff_waker;      /* Its waker while backing off (for close). */
	struct gale_tcp_accept *priv_backoff_next; /* Listener's list of futures backing off. */
	struct gale_tcp_accept *priv_backoff_prev; /* Same list. */
	bool priv_is_backing_off;                  /* Linked on that list. */
	bool priv_is_done;                         /* Completed: polling again asserts. */
};

/** Prepares an accept. listener is borrowed until completion or deinit. */
GALE_EXTERN void gale_tcp_accept_init(struct gale_tcp_accept *future,
				      struct gale_tcp_listener *listener);

/**
 * @return as gale_tcp_listener_poll_accept (same error policy and back-off).
 * Cancel safety: yes. A connection is taken from the kernel only in a poll that returns
 * it; deinit between polls loses none.
 */
GALE_EXTERN int gale_tcp_accept_poll(struct gale_tcp_accept *future, struct gale_cx *cx,
				     struct gale_tcp_stream *stream_out,
				     struct gale_socket_addr *peer_addr_out);

/** Unlinks the waiter and disarms the timer. Safe after completion; idempotent. */
GALE_EXTERN void gale_tcp_accept_deinit(struct gale_tcp_accept *future);

GALE_END_DECLS

#endif /* GALE_NET_TCP_H */
