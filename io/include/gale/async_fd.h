/* SPDX-License-Identifier: MIT */
/*
 * AsyncFd: readiness for any pollable fd (socket, pipe, eventfd...), Tokio style.
 *
 * Edge-triggered rules, in one place: try the operation first; only when it reports
 * -EAGAIN wait for readiness; readiness stays set until an operation reports -EAGAIN and
 * the guard clears it. A short read or write does not clear readiness (no new edge would
 * come: that is how Tokio issue #5866 hung), with one exception: a typed read or write
 * (gale_async_fd_poll_read/_write, guard try_read/try_write) on an AsyncFd declared a
 * stream (gale_async_fd_stream_set) whose driver vouches for short I/O
 * (GALE_DRIVER_CAP_READ_SHORT_DRAINED / _WRITE_SHORT_FULL: epoll does, for streams) clears
 * its direction after a short count, as Tokio does on Linux: one syscall saved per read.
 * The general form (gale_async_fd_io_fn) never does: the reactor cannot see its length.
 * The ready guard makes this explicit: every
 * guard must be consumed exactly once by clear_ready, clear_ready_matching, retain_ready
 * or try_io. Consuming one twice asserts, unless the reactor has an observer with a misuse
 * callback (gale_reactor_observer_set; the simulator's readiness oracle installs one): then
 * the misuse is reported there and the second consumption does nothing further. Guards
 * never consumed are counted (gale_async_fd_guards_live) and asserted at close/into_inner
 * in debug builds.
 *
 * gale puts the fd into non-blocking mode itself (through the driver), so any fd the
 * driver can poll is accepted. All I/O goes through the runtime's driver: the same code
 * runs on epoll, on the fault driver and on the simulator.
 * Thread affinity: the runtime's thread.
 */
#ifndef GALE_IO_ASYNC_FD_H
#define GALE_IO_ASYNC_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/driver.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

struct gale_async_fd {
	/* Private: do not touch. 24 bytes: one per connection, embedded in every TcpStream. */
	struct gale_runtime *priv_runtime; /* Borrowed until close/into_inner. */
	uint64_t priv_token;               /* Reactor registration. */
	int priv_fd;                       /* The fd; owned (closed by close). */
	uint16_t priv_guards_live;         /* Guards handed out and not yet consumed (more
					    * than 65,535 at once is a programmer error, like
					    * one left at close). */
	uint8_t priv_interest;             /* READ and/or WRITE. */
	bool priv_is_open;                 /* Registered and owning the fd. */
};

/*
 * A ready guard: proof that readiness was observed, and the duty to say what happened.
 * A plain value filled by the readiness polls; consume it exactly once.
 */
struct gale_async_fd_guard {
	struct gale_async_fd *async_fd; /* The fd it was observed on (borrowed). */
	struct gale_ready_event event;  /* The readiness observed and its tick (never changed:
					 * clearing does not rewrite the observation). */
	/* Private: do not touch. */
	uint32_t priv_ready_cleared;    /* Bits a clear took back (gale_async_fd_guard_ready). */
	bool priv_is_consumed;          /* Set by the consuming call. */
};

/**
 * Registers fd (taking ownership) for READ and WRITE readiness and makes it non-blocking.
 *
 * @param async_fd  caller-allocated; filled in place.
 * @param runtime   borrowed until gale_async_fd_close() / gale_async_fd_into_inner().
 * @return 0; -EBADF (fd not open), -EPERM (fd cannot be polled, e.g. a regular file),
 *         -EEXIST (fd already registered, by another AsyncFd or anything else), -ENOSPC
 *         (reactor full), -ENOMEM. On failure the fd is NOT closed: it stays the caller's.
 */
GALE_EXTERN int gale_async_fd_init(struct gale_async_fd *async_fd, struct gale_runtime *runtime,
				   int fd);

/** Like gale_async_fd_init() for a chosen interest (READ and/or WRITE; else -EINVAL). */
GALE_EXTERN int gale_async_fd_init_with_interest(struct gale_async_fd *async_fd,
						 struct gale_runtime *runtime, int fd,
						 uint32_t interest);

/** The fd (still owned by the AsyncFd), or -1 after close/into_inner. */
GALE_EXTERN int gale_async_fd_fd(const struct gale_async_fd *async_fd);

/** The runtime it is registered with. */
GALE_EXTERN struct gale_runtime *gale_async_fd_runtime(const struct gale_async_fd *async_fd);

/**
 * Deregisters (waking every waiter: they see GALE_E_CLOSED) and hands the fd back.
 * @param fd_out  set to the fd, which the caller now owns.
 * @return 0 or GALE_E_CLOSED (already closed / taken).
 */
GALE_EXTERN int gale_async_fd_into_inner(struct gale_async_fd *async_fd, int *fd_out);

/**
 * Deregisters, then closes the fd through the driver (the fd is released even if close
 * reports an error, which is returned). @return 0, the driver's close error, or
 * GALE_E_CLOSED if already closed. Idempotent in effect.
 */
GALE_EXTERN int gale_async_fd_close(struct gale_async_fd *async_fd);

/** Guards handed out and not consumed (should be 0 whenever no guard is in hand). */
GALE_EXTERN uint32_t gale_async_fd_guards_live(const struct gale_async_fd *async_fd);

/**
 * Poll-style read readiness: one waker slot for reads; the most recent caller wins, so
 * only one task may use it at a time (use the futures below for more).
 * @return 0 (guard_out filled: READ, RDHUP, HUP and/or ERROR), GALE_PENDING,
 *         GALE_E_CLOSED, or -EINVAL (the AsyncFd was not registered for READ).
 */
GALE_EXTERN int gale_async_fd_poll_read_ready(struct gale_async_fd *async_fd, struct gale_cx *cx,
					      struct gale_async_fd_guard *guard_out);

/** Poll-style write readiness (WRITE, HUP, ERROR); as gale_async_fd_poll_read_ready()
 * (-EINVAL when the AsyncFd was not registered for WRITE). */
GALE_EXTERN int gale_async_fd_poll_write_ready(struct gale_async_fd *async_fd,
					       struct gale_cx *cx,
					       struct gale_async_fd_guard *guard_out);

/**
 * The readiness the guard still vouches for, as Tokio's AsyncFdReadyGuard::ready(): the
 * bits it observed (a subset of the registration's readiness at that moment, within the
 * poll's direction or the future's interest), minus what a clear took back. After
 * gale_async_fd_guard_clear_ready() (or a try_io that saw -EAGAIN) it is 0, whatever was
 * observed, HUP and ERROR included; after clear_ready_matching(bits) it is the observed
 * bits without bits; retain_ready() leaves it unchanged. The observation itself stays in
 * guard->event (a clear never rewrites it). Borrowed for the call; any guard a readiness
 * poll filled, consumed or not.
 */
GALE_EXTERN uint32_t gale_async_fd_guard_ready(const struct gale_async_fd_guard *guard);

/** Consumes: the operation reported -EAGAIN; clears the observed READ/WRITE readiness
 * (unless a newer event arrived since: the tick rule). The guard reports no bits
 * afterwards (gale_async_fd_guard_ready() is 0). */
GALE_EXTERN void gale_async_fd_guard_clear_ready(struct gale_async_fd_guard *guard);

/** Consumes: clears only the directions in ready_bits (those that reported -EAGAIN); the
 * guard stops reporting ready_bits (Tokio: clear_ready_matching). */
GALE_EXTERN void gale_async_fd_guard_clear_ready_matching(struct gale_async_fd_guard *guard,
							  uint32_t ready_bits);

/** Consumes: the fd is still ready (no -EAGAIN seen); readiness stays set, and so do the
 * guard's bits. */
GALE_EXTERN void gale_async_fd_guard_retain_ready(struct gale_async_fd_guard *guard);

/* An I/O attempt for try_io / async_io, the general form: a byte count or -errno (-EAGAIN:
 * would block). Any operation at all (peek, accept, recvmsg...): its count proves nothing
 * about readiness, only -EAGAIN does. */
typedef ssize_t gale_async_fd_io_fn(void *data, struct gale_driver *driver, int fd);

/*
 * A typed read attempt: at most one read-like call on fd that consumes at most len bytes
 * into buf and returns their count, 0 at end of stream, or -errno (-EAGAIN: would block).
 * The count is measured against len: on a stream whose driver vouches for short reads, a
 * count below len proves the fd drained. So a function that does anything else (peeks,
 * asks the kernel for less than len, or reads twice) must use gale_async_fd_io_fn. buf and
 * data are borrowed for the call. A count above len breaks the contract (aborts).
 */
typedef ssize_t gale_async_fd_read_fn(void *data, struct gale_driver *driver, int fd, void *buf,
				      size_t len);

/* A typed write attempt: at most one write-like call offering exactly buf[0..len); returns
 * the count taken or -errno (-EAGAIN: would block). As gale_async_fd_read_fn otherwise. */
typedef ssize_t gale_async_fd_write_fn(void *data, struct gale_driver *driver, int fd,
				       const void *buf, size_t len);

/**
 * Declares the fd a stream: a connected SOCK_STREAM socket (TCP, AF_UNIX stream) or a pipe,
 * where the kernel fills a read until the buffer is full or the queue empty. From then on
 * a typed read (write) that moved fewer bytes than asked (offered), but more than 0, clears
 * READ (WRITE) readiness when the driver declares GALE_DRIVER_CAP_READ_SHORT_DRAINED
 * (GALE_DRIVER_CAP_WRITE_SHORT_FULL); the driver is asked now, once. Never declare it for
 * datagram sockets, eventfds, or anything a read may leave non-empty. TcpStream does it.
 * @return 0, or GALE_E_CLOSED (closed or taken).
 */
GALE_EXTERN int gale_async_fd_stream_set(struct gale_async_fd *async_fd);

/**
 * Consumes: runs io(data, driver, fd) once. If it returns -EAGAIN the guard's readiness is
 * cleared and -EAGAIN is returned (wait again); otherwise readiness is retained and the
 * result returned unchanged (a short count included). On a guard consumed already it
 * reports the misuse (see the file comment) and returns -EINVAL without running io.
 */
GALE_EXTERN ssize_t gale_async_fd_guard_try_io(struct gale_async_fd_guard *guard,
					       gale_async_fd_io_fn *io, void *data);

/**
 * Consumes: gale_async_fd_guard_try_io() for a typed read of len bytes into buf (read_fn
 * NULL: the driver's read). -EAGAIN clears as there; a short count (0 < count < len) also
 * clears READ on a stream whose driver vouches for it (gale_async_fd_stream_set), and then
 * the guard reports no READ bit. @return the count (0: end of stream), -EAGAIN, the
 * read's error, GALE_E_CLOSED, or -EINVAL (guard consumed already; nothing run). buf is
 * borrowed for the call.
 */
GALE_EXTERN ssize_t gale_async_fd_guard_try_read(struct gale_async_fd_guard *guard,
						 gale_async_fd_read_fn *read_fn, void *data,
						 void *buf, size_t len);

/** Consumes: as gale_async_fd_guard_try_read() for a typed write of buf[0..len) (write_fn
 * NULL: the driver's write); a short count clears WRITE under GALE_DRIVER_CAP_WRITE_SHORT_
 * FULL. */
GALE_EXTERN ssize_t gale_async_fd_guard_try_write(struct gale_async_fd_guard *guard,
						  gale_async_fd_write_fn *write_fn, void *data,
						  const void *buf, size_t len);

/*
 * The readable()/writable()/ready(interest) future: any number may wait on one fd.
 * Caller-allocated; must not move while pending.
 */
struct gale_async_fd_ready {
	struct gale_async_fd *async_fd;  /* Borrowed until completion or deinit. */
	struct gale_ready_waiter waiter; /* Linked while pending. */
};

/** ready(interest): interest is READ and/or WRITE (anything else: the poll returns
 * -EINVAL). readable()/writable() are shorthands. */
GALE_EXTERN void gale_async_fd_ready_init(struct gale_async_fd_ready *future,
					  struct gale_async_fd *async_fd, uint32_t interest);
GALE_EXTERN void gale_async_fd_readable_init(struct gale_async_fd_ready *future,
					     struct gale_async_fd *async_fd);
GALE_EXTERN void gale_async_fd_writable_init(struct gale_async_fd_ready *future,
					     struct gale_async_fd *async_fd);

/**
 * @return 0 (guard_out filled with what is ready now within the interest's mask: READ
 *         interest covers READ|RDHUP|HUP|ERROR, WRITE interest WRITE|HUP|ERROR; only bits
 *         actually set are reported, never the whole mask, so a readable future woken by
 *         data alone reports exactly READ), GALE_PENDING, GALE_E_CLOSED, or -EINVAL
 *         (interest is not READ and/or WRITE).
 * Cancel safety: yes; gale_async_fd_ready_deinit() unlinks, nothing is consumed.
 */
GALE_EXTERN int gale_async_fd_ready_poll(struct gale_async_fd_ready *future, struct gale_cx *cx,
					 struct gale_async_fd_guard *guard_out);

/** Unlinks the waiter if pending. Safe after completion. */
GALE_EXTERN void gale_async_fd_ready_deinit(struct gale_async_fd_ready *future);

/**
 * Poll-style I/O in one call, the general form (any operation; TcpStream's peeks and
 * vectored calls use it, its plain reads and writes take gale_async_fd_poll_read/_write):
 * the readiness of direction as gale_async_fd_poll_read_ready() / _write_ready() observe
 * it, then io(data, driver, fd) once. -EAGAIN clears the observed readiness (the tick
 * rule, as a guard's clear_ready) and readiness is polled again, which stores cx's waker
 * in the direction's single slot once it is gone (the most recent caller wins). Any other
 * result, a short count included, leaves readiness set. If readiness stays set (hang-up
 * and error are final) and io answers -EAGAIN twice, it yields: wakes cx, GALE_PENDING.
 * No guard is handed out.
 *
 * @param result_out  set when 0 is returned: io's result, a count or an error other
 *                    than -EAGAIN.
 * @return 0, GALE_PENDING (cx's waker stored, or woken by the yield), GALE_E_CLOSED, or
 *         -EINVAL (direction is not READ or WRITE, or one the AsyncFd was not registered
 *         for; io is not called).
 * Cancel safety: yes if io is (nothing is in flight between polls).
 */
GALE_EXTERN int gale_async_fd_poll_io(struct gale_async_fd *async_fd, struct gale_cx *cx,
				      enum gale_direction direction, gale_async_fd_io_fn *io,
				      void *data, ssize_t *result_out);

/**
 * Poll-style typed read, the path TcpStream's reads take: gale_async_fd_poll_io() in the
 * READ direction with read_fn(data, driver, fd, buf, len) as the attempt (NULL: the
 * driver's read). Readiness is cleared by -EAGAIN and, on a stream whose driver vouches
 * for it (gale_async_fd_stream_set), by a short count: then the next poll waits for a new
 * edge instead of trying a read that would say -EAGAIN.
 *
 * @param buf           where the bytes go; borrowed for the call (nothing is kept between
 *                      polls). May be NULL only when len is 0.
 * @param len_read_out  set to the count when 0 is returned (0 with len > 0: end of stream).
 * @return 0, GALE_PENDING (cx's waker stored in the READ slot: the most recent caller
 *         wins), GALE_E_CLOSED, -EINVAL (not registered for READ; nothing run), or the
 *         read's error (-ECONNRESET...; never -EAGAIN).
 * Cancel safety: yes (nothing is in flight between polls; bytes are consumed only by a
 * poll that returns 0).
 */
GALE_EXTERN int gale_async_fd_poll_read(struct gale_async_fd *async_fd, struct gale_cx *cx,
					gale_async_fd_read_fn *read_fn, void *data, void *buf,
					size_t len, size_t *len_read_out);

/**
 * Poll-style typed write: as gale_async_fd_poll_read() in the WRITE direction, write_fn
 * (NULL: the driver's write) offered buf[0..len); a short count clears WRITE on a stream
 * under GALE_DRIVER_CAP_WRITE_SHORT_FULL.
 * @param len_written_out  set to the count taken when 0 is returned.
 * @return as gale_async_fd_poll_read() (-EPIPE, -ECONNRESET... from the write).
 * Cancel safety: yes (a poll that returns 0 took exactly *len_written_out bytes).
 */
GALE_EXTERN int gale_async_fd_poll_write(struct gale_async_fd *async_fd, struct gale_cx *cx,
					 gale_async_fd_write_fn *write_fn, void *data,
					 const void *buf, size_t len, size_t *len_written_out);

/**
 * The AsyncFd as an AsyncRead (io/include/gale/async_io.h): poll_read is
 * gale_async_fd_poll_read() with the driver's read into the read buffer's unfilled part. A
 * full buffer reads nothing and returns 0 (GALE_E_CLOSED once closed) without a syscall.
 * For an fd registered for READ, best declared a stream (gale_async_fd_stream_set) so a
 * short read proves it drained. TcpStream's reader is this one: one call level less on
 * every read than a reader that calls gale_async_fd_poll_read() itself.
 * @param async_fd  borrowed by the fat pointer: it must outlive every use of it.
 * @return the fat pointer (ops name "async_fd"); never fails.
 */
GALE_EXTERN struct gale_async_read gale_async_fd_reader(struct gale_async_fd *async_fd);

/*
 * async_io(interest, io): waits for readiness and runs io until it stops reporting
 * -EAGAIN; completes with io's result. The same attempt as gale_async_fd_poll_io(), waiting
 * through a waiter instead of the direction's slot: -EAGAIN clears (the tick rule), a short
 * count keeps readiness, and after two -EAGAINs with readiness still set (hang-up and error
 * are final) it yields (wakes cx, GALE_PENDING). Caller-allocated; must not move while
 * pending.
 */
struct gale_async_fd_io {
	struct gale_async_fd_ready ready; /* Readiness wait. */
	gale_async_fd_io_fn *io;          /* The attempt. */
	void *data;                       /* For io; borrowed until completion or deinit. */
	ssize_t result;                   /* io's result once the poll returned 0. */
};

GALE_EXTERN void gale_async_fd_io_init(struct gale_async_fd_io *future,
				       struct gale_async_fd *async_fd, uint32_t interest,
				       gale_async_fd_io_fn *io, void *data);

/**
 * @return 0 (future->result holds io's non-EAGAIN result, which may be negative),
 *         GALE_PENDING, GALE_E_CLOSED, or -EINVAL (interest as for ready_init).
 * Cancel safety: yes if io is (no attempt is in flight between polls).
 */
GALE_EXTERN int gale_async_fd_io_poll(struct gale_async_fd_io *future, struct gale_cx *cx);

/** Unlinks the waiter if pending. */
GALE_EXTERN void gale_async_fd_io_deinit(struct gale_async_fd_io *future);

GALE_END_DECLS

#endif /* GALE_IO_ASYNC_FD_H */
