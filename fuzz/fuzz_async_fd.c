/* SPDX-License-Identifier: MIT */
/*
 * fuzz_async_fd: the AsyncFd guard protocol over a real socketpair, through the epoll
 * driver wrapped in the fault driver. End A is an AsyncFd on the runtime (faulted); end B,
 * the peer, is driven directly through the inner epoll driver (never faulted).
 *
 * Methodology. Input layout: 7 fault ratios (spurious, stale and delayed readiness, read
 * and write WouldBlock, short reads, partial writes; never resets: fuzz_fault_epoll covers
 * those), 1 flags byte (1: 4 KiB socket buffers, so writes fill them), a u16-length op
 * script, and the rest is the fault driver's entropy. Script ops: peer write / read /
 * shutdown, reactor turn (timeout 0), and on A for each direction: poll for a guard and
 * hold it, I/O under the held guard, release it (clear_ready, clear_ready_matching or
 * retain_ready, by what the I/O saw), try_io, plus readable/writable/ready futures (many
 * waiters; cancel) and one-poll async_io futures. Guards may be held across turns, so a
 * clear can race an event that arrived after the observation (the tick rule).
 * After the script: the guards are released, the peer shuts down, and A reads to EOF and
 * the peer drains A's bytes, under a budget of turns.
 * Invariants (an abort names the one broken):
 *   "readiness"    READ/WRITE readiness cleared in an op that saw no -EAGAIN in that
 *                  direction, or RDHUP/HUP/ERROR cleared at all;
 *   "clear"        a clear after -EAGAIN with no event since the observation left the bits;
 *   "tick"         a clear after an event for this fd arrived since the observation
 *                  changed the readiness (it could erase an edge nobody acted on);
 *   "lost-wakeup"  readiness set while a stored poll waker or a linked future's waiter of
 *                  that direction was never woken;
 *   "guard-bits"   a guard handed out (poll_*_ready, a ready future) reports bits that
 *                  are not set in the reactor's readiness for the fd right then, or that
 *                  lie outside its direction's or interest's mask (a woken future must
 *                  report what is ready, never its whole interest); or a guard still
 *                  reports bits a clear took back (0 after clear_ready and after a try_io
 *                  that saw -EAGAIN, the rest after clear_ready_matching);
 *   "bytes"        data lost, duplicated or reordered in either direction;
 *   "eof"          a read of 0 before the peer's shutdown or before its last byte;
 *   "guards"       gale_async_fd_guards_live differs from the guards in hand;
 *   "hang"         the final drain made no progress within the budget;
 *   "leak"         close or runtime deinit failed.
 * Replay: fuzz_async_fd FILE; GALE_FUZZ_TRACE=1 prints the op log and every fault.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/driver_epoll.h>
#include <gale/entropy.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/sim_fault.h>

#include "fuzz_harness.h"
#include "fuzz_input.h"

#define OPS_MAX 400
#define IO_MAX 4096
#define SMALL_BUF 4096
#define FUTURES_MAX 4
#define A_STREAM (UINT64_C(1) << 40) /* Pattern offset of A's bytes (B's start at 0). */
#define MASK_READ (GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP | GALE_READY_ERROR)
#define MASK_WRITE (GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR)
#define FINAL_BITS (GALE_READY_RDHUP | GALE_READY_HUP | GALE_READY_ERROR)

static const enum gale_fault_kind fault_kinds[] = {
	GALE_FAULT_READY_SPURIOUS,   GALE_FAULT_READY_STALE,       GALE_FAULT_READY_DELAY,
	GALE_FAULT_READ_WOULD_BLOCK, GALE_FAULT_WRITE_WOULD_BLOCK, GALE_FAULT_READ_SHORT,
	GALE_FAULT_WRITE_PARTIAL,
};

/* A guard held across ops, and what happened under it. */
struct held {
	bool active;                      /* A guard is in hand. */
	struct gale_async_fd_guard guard; /* It. */
	bool eagain;                      /* I/O under it answered -EAGAIN. */
	uint64_t events_at;               /* Reactor events_count when observed. */
	uint64_t stale_at;                /* Reactor events_stale_count when observed. */
};

/* A readable/writable/ready future that may stay linked across ops. */
struct waiter {
	struct gale_async_fd_ready future; /* The future. */
	bool linked;                       /* Returned GALE_PENDING and not woken/cancelled. */
	uint64_t id;                       /* Its waker's id. */
};

struct run {
	struct gale_driver_epoll epoll;    /* The real driver (the peer uses it directly). */
	struct gale_fault_driver fault;    /* A's driver. */
	struct gale_fault_profile profile; /* From the input. */
	struct gale_entropy entropy;       /* The input's tail. */
	struct gale_trace trace;           /* Injected faults. */
	struct gale_runtime runtime;       /* Over the fault driver. */
	struct gale_async_fd async_fd;     /* End A. */
	int peer_fd;                       /* End B. */
	uint64_t token;                    /* A's registration (peeked, for readiness reads). */
	uint64_t peer_sent;                /* Bytes B wrote. */
	uint64_t a_received;               /* Bytes A read. */
	uint64_t a_sent;                   /* Bytes A wrote. */
	uint64_t peer_received;            /* Bytes B read. */
	bool peer_shut;                    /* B shut its write side down. */
	uint64_t poll_waker[2];            /* Stored poll_*_ready waker ids by direction. */
	struct held held[2];               /* Held guards by direction. */
	struct waiter waiters[FUTURES_MAX]; /* Future-style waits. */
	struct fuzz_wake_log log;          /* Wakes during the current op. */
	uint32_t cleared_ok;               /* READ/WRITE bits this op may clear (-EAGAIN seen). */
	uint8_t buf[IO_MAX];               /* Scratch for I/O. */
	bool trace_on;                     /* GALE_FUZZ_TRACE. */
};

static struct gale_driver *a_driver(struct run *run)
{
	return gale_runtime_driver(&run->runtime);
}

static uint32_t ready_now(const struct run *run)
{
	return gale_reactor_ready_get(&run->runtime.reactor, run->token);
}

static uint32_t direction_bit(int direction)
{
	return direction == GALE_DIRECTION_READ ? GALE_READY_READ : GALE_READY_WRITE;
}

/* ---- Streams ------------------------------------------------------------------------- */

/* Checks bytes A read (n >= 0) against B's stream; 0 must be a real end of stream. */
static void a_read_result(struct run *run, ssize_t n)
{
	FUZZ_CHECK(&run->trace, n >= 0 || n == -EAGAIN, "result", "A read -> %s",
		   gale_error_name((int)n));
	if (n < 0)
		return;
	if (n == 0) {
		FUZZ_CHECK(&run->trace, run->peer_shut && run->a_received == run->peer_sent, "eof",
			   "A read EOF with %llu of %llu bytes, peer shut %d",
			   (unsigned long long)run->a_received, (unsigned long long)run->peer_sent,
			   run->peer_shut);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		FUZZ_CHECK(&run->trace, run->buf[i] == fuzz_pattern_byte(run->a_received + i),
			   "bytes", "A's byte at stream offset %llu is wrong",
			   (unsigned long long)(run->a_received + i));
	run->a_received += (uint64_t)n;
	FUZZ_CHECK(&run->trace, run->a_received <= run->peer_sent, "bytes",
		   "A read %llu bytes, B wrote %llu", (unsigned long long)run->a_received,
		   (unsigned long long)run->peer_sent);
}

/* One attempt of A in a direction, len bytes. */
static ssize_t a_io(struct run *run, int direction, size_t len)
{
	int fd = gale_async_fd_fd(&run->async_fd);
	if (direction == GALE_DIRECTION_READ) {
		ssize_t n = gale_driver_read(a_driver(run), fd, run->buf, len);
		a_read_result(run, n);
		return n;
	}
	fuzz_pattern_fill(run->buf, len, A_STREAM + run->a_sent);
	ssize_t n = gale_driver_write(a_driver(run), fd, run->buf, len);
	FUZZ_CHECK(&run->trace, n > 0 || n == -EAGAIN, "result", "A write(%zu) -> %s", len,
		   gale_error_name((int)n));
	if (n > 0)
		run->a_sent += (uint64_t)n;
	return n;
}

static ssize_t io_read_cb(void *data, struct gale_driver *driver, int fd)
{
	struct run *run = data;
	assert(driver == a_driver(run) && fd == gale_async_fd_fd(&run->async_fd));
	ssize_t n = gale_driver_read(driver, fd, run->buf, IO_MAX);
	a_read_result(run, n);
	if (n == -EAGAIN)
		run->cleared_ok |= GALE_READY_READ; /* try_io clears on this answer. */
	return n;
}

static ssize_t io_write_cb(void *data, struct gale_driver *driver, int fd)
{
	struct run *run = data;
	fuzz_pattern_fill(run->buf, IO_MAX, A_STREAM + run->a_sent);
	ssize_t n = gale_driver_write(driver, fd, run->buf, IO_MAX);
	FUZZ_CHECK(&run->trace, n > 0 || n == -EAGAIN, "result", "A write -> %s",
		   gale_error_name((int)n));
	if (n > 0)
		run->a_sent += (uint64_t)n;
	if (n == -EAGAIN)
		run->cleared_ok |= GALE_READY_WRITE; /* try_io clears on this answer. */
	return n;
}

static void peer_write(struct run *run, size_t len)
{
	fuzz_pattern_fill(run->buf, len, run->peer_sent);
	ssize_t n = gale_driver_write(&run->epoll.base, run->peer_fd, run->buf, len);
	FUZZ_CHECK(&run->trace, n > 0 || n == -EAGAIN || (run->peer_shut && n == -EPIPE),
		   "bytes", "peer write(%zu) -> %zd", len, n);
	if (n > 0)
		run->peer_sent += (uint64_t)n;
	fuzz_log(run->trace_on, "peer write(%zu) -> %zd", len, n);
}

static void peer_shutdown(struct run *run)
{
	if (run->peer_shut)
		return;
	int rc = gale_driver_shutdown(&run->epoll.base, run->peer_fd, GALE_SHUTDOWN_WRITE);
	FUZZ_CHECK(&run->trace, rc == 0, "result", "peer shutdown -> %s", gale_error_name(rc));
	run->peer_shut = true;
	fuzz_log(run->trace_on, "peer shutdown");
}

/* B reads up to len; @return the count (0 when nothing is there). */
static size_t peer_read(struct run *run, size_t len)
{
	ssize_t n = gale_driver_read(&run->epoll.base, run->peer_fd, run->buf, len);
	FUZZ_CHECK(&run->trace, n > 0 || n == -EAGAIN, "bytes", "peer read(%zu) -> %zd", len, n);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		FUZZ_CHECK(&run->trace, run->buf[i] == fuzz_pattern_byte(A_STREAM +
									 run->peer_received + i),
			   "bytes", "B's byte at stream offset %llu is wrong",
			   (unsigned long long)(run->peer_received + i));
	run->peer_received += (uint64_t)n;
	FUZZ_CHECK(&run->trace, run->peer_received <= run->a_sent, "bytes",
		   "B read %llu bytes, A wrote %llu", (unsigned long long)run->peer_received,
		   (unsigned long long)run->a_sent);
	return (size_t)n;
}

/* ---- Guards -------------------------------------------------------------------------- */

/* A guard just handed out vouches only for readiness set now, within mask. */
static void guard_bits_check(struct run *run, const struct gale_async_fd_guard *guard,
			     uint32_t mask, const char *how)
{
	uint32_t now = ready_now(run);
	uint32_t bits = gale_async_fd_guard_ready(guard);
	FUZZ_CHECK(&run->trace, bits == guard->event.ready, "guard-bits",
		   "%s: fresh guard reports 0x%x, observed 0x%x", how, bits, guard->event.ready);
	FUZZ_CHECK(&run->trace, bits != 0 && (bits & ~(now & mask)) == 0, "guard-bits",
		   "%s: guard bits 0x%x, reactor readiness 0x%x, mask 0x%x", how, bits, now, mask);
}

/* After a clear of the given bits, the guard no longer vouches for them. */
static void guard_cleared_check(struct run *run, const struct gale_async_fd_guard *guard,
				uint32_t bits, const char *how)
{
	uint32_t left = gale_async_fd_guard_ready(guard);
	FUZZ_CHECK(&run->trace, left == (guard->event.ready & ~bits), "guard-bits",
		   "%s: guard observed 0x%x, cleared 0x%x, still reports 0x%x", how,
		   guard->event.ready, bits, left);
}

static int guard_poll(struct run *run, int direction, uint64_t id,
		      struct gale_async_fd_guard *guard_out)
{
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	int rc = direction == GALE_DIRECTION_READ
			 ? gale_async_fd_poll_read_ready(&run->async_fd, &cx, guard_out)
			 : gale_async_fd_poll_write_ready(&run->async_fd, &cx, guard_out);
	FUZZ_CHECK(&run->trace, rc == 0 || rc == GALE_PENDING, "result",
		   "poll_ready(%d) -> %s", direction, gale_error_name(rc));
	if (rc == GALE_PENDING)
		run->poll_waker[direction] = id; /* The most recent caller's waker is stored. */
	else
		guard_bits_check(run, guard_out,
				 direction == GALE_DIRECTION_READ ? MASK_READ : MASK_WRITE,
				 "poll_ready");
	return rc;
}

/*
 * A clear of a held guard after -EAGAIN: with an event for this fd since the observation
 * the tick rule forbids any change; without one, the requested bits must be gone.
 */
static void clear_held_check(struct run *run, const struct held *held, uint32_t bits,
			     uint32_t before)
{
	struct gale_reactor_stats stats = gale_reactor_stats_get(&run->runtime.reactor);
	uint64_t events_ours = (stats.events_count - held->events_at) -
			       (stats.events_stale_count - held->stale_at);
	uint32_t after = ready_now(run);
	if (events_ours > 0) {
		FUZZ_CHECK(&run->trace, after == before, "tick",
			   "readiness 0x%x -> 0x%x by a clear after %llu newer events", before,
			   after, (unsigned long long)events_ours);
		return;
	}
	uint32_t gone = held->guard.event.ready & bits & GALE_READY_INTEREST_ALL;
	FUZZ_CHECK(&run->trace, (after & gone) == 0, "clear",
		   "readiness 0x%x still has 0x%x after a clear with no newer event", after, gone);
}

static void op_try_io(struct run *run, int direction, uint64_t id)
{
	struct held *held = &run->held[direction];
	struct held fresh = {.active = false};
	bool use_held = held->active;
	if (!use_held) {
		struct gale_reactor_stats stats = gale_reactor_stats_get(&run->runtime.reactor);
		if (guard_poll(run, direction, id, &fresh.guard) != 0)
			return;
		fresh.events_at = stats.events_count;
		fresh.stale_at = stats.events_stale_count;
	}
	struct held *using = use_held ? held : &fresh;
	uint32_t before = ready_now(run);
	ssize_t n = gale_async_fd_guard_try_io(&using->guard, direction == GALE_DIRECTION_READ
							       ? io_read_cb : io_write_cb, run);
	fuzz_log(run->trace_on, "#%llu try_io(%s%s) -> %zd", (unsigned long long)id,
		 direction == GALE_DIRECTION_READ ? "read" : "write", use_held ? ", held" : "", n);
	if (n == -EAGAIN) {
		clear_held_check(run, using, using->guard.event.ready, before);
		guard_cleared_check(run, &using->guard, UINT32_MAX, "try_io");
	} else {
		guard_cleared_check(run, &using->guard, 0, "try_io");
	}
	held->active = false;
}

static void op_hold(struct run *run, int direction, uint64_t id)
{
	struct held *held = &run->held[direction];
	if (held->active)
		return;
	struct gale_reactor_stats stats = gale_reactor_stats_get(&run->runtime.reactor);
	if (guard_poll(run, direction, id, &held->guard) != 0)
		return;
	held->active = true;
	held->eagain = false;
	held->events_at = stats.events_count;
	held->stale_at = stats.events_stale_count;
	fuzz_log(run->trace_on, "#%llu hold %s guard 0x%x", (unsigned long long)id,
		 direction == GALE_DIRECTION_READ ? "read" : "write", held->guard.event.ready);
}

static void op_held_io(struct run *run, int direction, size_t len)
{
	struct held *held = &run->held[direction];
	if (!held->active)
		return;
	ssize_t n = a_io(run, direction, len);
	held->eagain |= n == -EAGAIN;
	fuzz_log(run->trace_on, "%s(%zu) under the held guard -> %zd",
		 direction == GALE_DIRECTION_READ ? "read" : "write", len, n);
}

static void op_release(struct run *run, int direction, uint8_t how)
{
	struct held *held = &run->held[direction];
	if (!held->active)
		return;
	held->active = false;
	uint32_t before = ready_now(run);
	if (!held->eagain) {
		gale_async_fd_guard_retain_ready(&held->guard);
		guard_cleared_check(run, &held->guard, 0, "retain_ready");
		fuzz_log(run->trace_on, "retain %s guard", direction ? "write" : "read");
		return;
	}
	/* Only the direction that saw -EAGAIN may be cleared; extra bits named in a
	 * clear_ready_matching must be ignored when the guard did not observe them. */
	uint32_t bits = direction_bit(direction);
	if ((how & 1u) != 0) {
		bits |= (how & 2u) != 0 ? FINAL_BITS : 0;
		gale_async_fd_guard_clear_ready_matching(&held->guard, bits);
		guard_cleared_check(run, &held->guard, bits, "clear_ready_matching");
	} else if ((held->guard.event.ready & GALE_READY_INTEREST_ALL) == bits) {
		gale_async_fd_guard_clear_ready(&held->guard);
		guard_cleared_check(run, &held->guard, UINT32_MAX, "clear_ready");
	} else {
		gale_async_fd_guard_clear_ready_matching(&held->guard, bits);
		guard_cleared_check(run, &held->guard, bits, "clear_ready_matching");
	}
	run->cleared_ok |= direction_bit(direction);
	fuzz_log(run->trace_on, "clear %s guard (bits 0x%x)", direction ? "write" : "read", bits);
	clear_held_check(run, held, bits, before);
}

/* ---- Futures ------------------------------------------------------------------------- */

static uint32_t interest_mask(uint32_t interest)
{
	return ((interest & GALE_READY_READ) != 0 ? MASK_READ : 0) |
	       ((interest & GALE_READY_WRITE) != 0 ? MASK_WRITE : 0);
}

static void op_future(struct run *run, uint32_t index, uint8_t interest_byte, uint64_t id)
{
	static const uint32_t interests[] = {GALE_READY_READ, GALE_READY_WRITE,
					     GALE_READY_INTEREST_ALL};
	struct waiter *waiter = &run->waiters[index];
	if (!waiter->linked)
		gale_async_fd_ready_init(&waiter->future, &run->async_fd,
					 interests[interest_byte % 3]);
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	struct gale_async_fd_guard guard;
	int rc = gale_async_fd_ready_poll(&waiter->future, &cx, &guard);
	fuzz_log(run->trace_on, "#%llu future %u (interest %u) -> %s", (unsigned long long)id,
		 index, waiter->future.waiter.interest, gale_error_name(rc));
	FUZZ_CHECK(&run->trace, rc == 0 || rc == GALE_PENDING, "result", "ready future -> %s",
		   gale_error_name(rc));
	if (rc == 0) {
		uint32_t mask = interest_mask(waiter->future.waiter.interest);
		FUZZ_CHECK(&run->trace, (guard.event.ready & mask) != 0, "result",
			   "future of interest %u ready with 0x%x", waiter->future.waiter.interest,
			   guard.event.ready);
		guard_bits_check(run, &guard, mask, "ready future");
		gale_async_fd_guard_retain_ready(&guard); /* No I/O tried: nothing to clear. */
		waiter->linked = false;
		return;
	}
	waiter->linked = true;
	waiter->id = id;
}

static void op_future_cancel(struct run *run, uint32_t index)
{
	struct waiter *waiter = &run->waiters[index];
	if (!waiter->linked)
		return;
	gale_async_fd_ready_deinit(&waiter->future);
	waiter->linked = false;
	fuzz_log(run->trace_on, "future %u cancelled", index);
}

/* async_io: one poll, then a cancel if it is pending (it is cancel-safe). */
static void op_async_io(struct run *run, int direction, uint64_t id)
{
	struct gale_async_fd_io future;
	gale_async_fd_io_init(&future, &run->async_fd, direction_bit(direction),
			      direction == GALE_DIRECTION_READ ? io_read_cb : io_write_cb, run);
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	int rc = gale_async_fd_io_poll(&future, &cx);
	fuzz_log(run->trace_on, "#%llu async_io(%s) -> %s, result %zd", (unsigned long long)id,
		 direction == GALE_DIRECTION_READ ? "read" : "write", gale_error_name(rc),
		 rc == 0 ? future.result : 0);
	FUZZ_CHECK(&run->trace, rc == GALE_PENDING || (rc == 0 && future.result != -EAGAIN),
		   "result", "async_io -> %s, result %zd", gale_error_name(rc), future.result);
	gale_async_fd_io_deinit(&future);
}

/* ---- Per-op oracles ------------------------------------------------------------------- */

static void wakers_check(struct run *run, uint32_t after)
{
	static const uint32_t masks[2] = {MASK_READ, MASK_WRITE};
	for (int direction = 0; direction < 2; direction++) {
		uint64_t id = run->poll_waker[direction];
		if (id != 0 && fuzz_wake_log_count(&run->log, id) > 0)
			run->poll_waker[direction] = 0;
		FUZZ_CHECK(&run->trace, run->poll_waker[direction] == 0 ||
			   (after & masks[direction]) == 0, "lost-wakeup",
			   "readiness 0x%x while poll waker %llu (direction %d) was never woken",
			   after, (unsigned long long)run->poll_waker[direction], direction);
	}
	for (uint32_t i = 0; i < FUTURES_MAX; i++) {
		struct waiter *waiter = &run->waiters[i];
		if (waiter->linked && fuzz_wake_log_count(&run->log, waiter->id) > 0)
			waiter->linked = false; /* Woken: the reactor unlinked it. */
		uint32_t mask = interest_mask(waiter->future.waiter.interest);
		FUZZ_CHECK(&run->trace, !waiter->linked || (after & mask) == 0, "lost-wakeup",
			   "readiness 0x%x while future %u (interest %u) was never woken", after, i,
			   waiter->future.waiter.interest);
	}
}

static void op_after(struct run *run, uint32_t before, const char *op)
{
	uint32_t after = ready_now(run);
	uint32_t lost = before & ~after;
	FUZZ_CHECK(&run->trace, (lost & FINAL_BITS) == 0, "readiness",
		   "%s cleared final readiness 0x%x -> 0x%x", op, before, after);
	FUZZ_CHECK(&run->trace, (lost & GALE_READY_INTEREST_ALL & ~run->cleared_ok) == 0,
		   "readiness", "%s cleared 0x%x -> 0x%x without -EAGAIN (allowed 0x%x)", op,
		   before, after, run->cleared_ok);
	wakers_check(run, after);
	uint32_t held = (uint32_t)run->held[0].active + (uint32_t)run->held[1].active;
	FUZZ_CHECK(&run->trace, gale_async_fd_guards_live(&run->async_fd) == held, "guards",
		   "%u guards live, %u in hand", gale_async_fd_guards_live(&run->async_fd), held);
}

/* ---- The script ------------------------------------------------------------------------ */

static const char *const op_names[] = {"peer write", "peer read", "peer shutdown", "turn",
				       "hold",       "held io",   "release",       "try_io",
				       "future",     "cancel",    "async_io"};

static void op_run(struct run *run, struct fuzz_input *script, uint32_t kind, uint64_t id)
{
	int direction = fuzz_input_bool(script) ? GALE_DIRECTION_WRITE : GALE_DIRECTION_READ;
	switch (kind) {
	case 0:
		peer_write(run, (size_t)fuzz_input_range(script, 1, IO_MAX));
		break;
	case 1:
		(void)peer_read(run, (size_t)fuzz_input_range(script, 1, IO_MAX));
		break;
	case 2:
		peer_shutdown(run);
		break;
	case 3: {
		int count = gale_reactor_turn(&run->runtime.reactor, 0);
		FUZZ_CHECK(&run->trace, count >= 0, "result", "turn -> %s", gale_error_name(count));
		fuzz_log(run->trace_on, "#%llu turn -> %d events", (unsigned long long)id, count);
		break;
	}
	case 4:
		op_hold(run, direction, id);
		break;
	case 5:
		op_held_io(run, direction, (size_t)fuzz_input_range(script, 1, IO_MAX));
		break;
	case 6:
		op_release(run, direction, fuzz_input_u8(script));
		break;
	case 7:
		op_try_io(run, direction, id);
		break;
	case 8:
		op_future(run, (uint32_t)fuzz_input_range(script, 0, FUTURES_MAX - 1),
			  fuzz_input_u8(script), id);
		break;
	case 9:
		op_future_cancel(run, (uint32_t)fuzz_input_range(script, 0, FUTURES_MAX - 1));
		break;
	default:
		op_async_io(run, direction, id);
		break;
	}
}

static void script_run(struct run *run, struct fuzz_input *script)
{
	static const uint32_t weights[] = {4, 3, 1, 5, 3, 4, 3, 4, 2, 1, 1};
	for (uint64_t id = 1; id <= OPS_MAX && !fuzz_input_is_empty(script); id++) {
		uint32_t kind = fuzz_input_pick(script, weights, 11);
		uint32_t before = ready_now(run);
		fuzz_wake_log_clear(&run->log);
		run->cleared_ok = 0;
		op_run(run, script, kind, id);
		op_after(run, before, op_names[kind]);
	}
}

/* Releases everything held, then A reads to EOF and B drains, under a budget of turns. */
static void drain(struct run *run, size_t input_len)
{
	for (int direction = 0; direction < 2; direction++)
		op_release(run, direction, 0);
	for (uint32_t i = 0; i < FUTURES_MAX; i++)
		op_future_cancel(run, i);
	peer_shutdown(run);
	uint64_t budget = 1000 + 4 * (uint64_t)input_len;
	bool eof = false;
	for (uint64_t step = 1; !eof; step++) {
		FUZZ_CHECK(&run->trace, step < budget, "hang",
			   "A has %llu of %llu bytes and no EOF after %llu steps",
			   (unsigned long long)run->a_received, (unsigned long long)run->peer_sent,
			   (unsigned long long)step);
		uint32_t before = ready_now(run);
		fuzz_wake_log_clear(&run->log);
		run->cleared_ok = 0;
		struct gale_async_fd_guard guard;
		if (guard_poll(run, GALE_DIRECTION_READ, OPS_MAX + step, &guard) == GALE_PENDING) {
			FUZZ_CHECK(&run->trace, gale_reactor_turn(&run->runtime.reactor, 0) >= 0,
				   "result", "turn failed");
		} else {
			eof = gale_async_fd_guard_try_io(&guard, io_read_cb, run) == 0;
		}
		op_after(run, before, "drain");
	}
	while (peer_read(run, IO_MAX) > 0)
		continue;
	FUZZ_CHECK(&run->trace, run->peer_received == run->a_sent, "bytes",
		   "B drained %llu of the %llu bytes A wrote",
		   (unsigned long long)run->peer_received, (unsigned long long)run->a_sent);
}

/* ---- Setup and teardown --------------------------------------------------------------- */

static void run_setup(struct run *run, struct fuzz_input *input, bool small_buffers)
{
	int rc = gale_driver_epoll_init(&run->epoll);
	FUZZ_CHECK(NULL, rc == 0, "setup", "epoll init -> %s", gale_error_name(rc));
	size_t rest_len;
	const uint8_t *rest = fuzz_input_rest(input, &rest_len);
	gale_entropy_init_bytes(&run->entropy, rest, rest_len);
	gale_trace_init(&run->trace, NULL, fuzz_trace_records_max());
	rc = gale_fault_driver_init(&run->fault, &run->epoll.base, &run->profile, &run->entropy,
				    &run->trace);
	FUZZ_CHECK(NULL, rc == 0, "setup", "fault init -> %s", gale_error_name(rc));
	struct gale_runtime_options options = gale_runtime_options_default();
	options.registrations_max = 2;
	options.events_cap = 8;
	rc = gale_runtime_init(&run->runtime, &run->fault.base, &options);
	FUZZ_CHECK(NULL, rc == 0, "setup", "runtime init -> %s", gale_error_name(rc));
	int fds[2];
	rc = gale_driver_socketpair(&run->epoll.base, fds);
	FUZZ_CHECK(NULL, rc == 0, "setup", "socketpair -> %s", gale_error_name(rc));
	for (int i = 0; i < 2 && small_buffers; i++)
		(void)gale_driver_sockopt_set(&run->epoll.base, fds[i], GALE_SOCKOPT_SNDBUF,
					      SMALL_BUF);
	rc = gale_async_fd_init(&run->async_fd, &run->runtime, fds[0]);
	FUZZ_CHECK(NULL, rc == 0, "setup", "AsyncFd init -> %s", gale_error_name(rc));
	run->peer_fd = fds[1];
	/* The oracle reads the registration's readiness (gale_reactor_ready_get), which needs
	 * the token: a read-only peek at a private field, harness code only. */
	run->token = run->async_fd.priv_token;
}

static void run_teardown(struct run *run)
{
	FUZZ_CHECK(&run->trace, gale_async_fd_guards_live(&run->async_fd) == 0, "guards",
		   "guards left at close");
	int rc = gale_async_fd_close(&run->async_fd);
	FUZZ_CHECK(&run->trace, rc == 0, "leak", "AsyncFd close -> %s", gale_error_name(rc));
	rc = gale_driver_close(&run->epoll.base, run->peer_fd);
	FUZZ_CHECK(&run->trace, rc == 0, "leak", "peer close -> %s", gale_error_name(rc));
	rc = gale_runtime_deinit(&run->runtime);
	FUZZ_CHECK(&run->trace, rc == 0, "leak", "runtime deinit -> %s", gale_error_name(rc));
	if (run->trace_on)
		fuzz_trace_dump(&run->trace, "fault driver");
	gale_driver_deinit(&run->fault.base);
	gale_driver_epoll_deinit(&run->epoll);
	gale_trace_deinit(&run->trace);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *run = calloc(1, sizeof(*run));
	FUZZ_CHECK(NULL, run != NULL, "setup", "out of memory");
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	fuzz_input_profile(&input, fault_kinds, sizeof(fault_kinds) / sizeof(fault_kinds[0]),
			   "fuzz", &run->profile);
	bool small_buffers = (fuzz_input_u8(&input) & 1u) != 0;
	struct fuzz_input script = fuzz_input_script(&input);
	run->trace_on = fuzz_trace_is_on();
	run_setup(run, &input, small_buffers);
	script_run(run, &script);
	drain(run, size);
	run_teardown(run);
	free(run);
	return 0;
}
