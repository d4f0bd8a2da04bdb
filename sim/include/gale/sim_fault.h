/* SPDX-License-Identifier: MIT */
/*
 * The fault driver: a decorator over any struct gale_driver (usually "epoll") that forwards
 * every op to the inner driver and injects LEGAL faults, SQLite test_vfs style. Real
 * kernel sockets, real bytes; only the answers are perturbed in ways a kernel may also
 * perturb them, so code that breaks under it is broken in production too.
 *
 * Faults by ratio (profile + entropy; one roll per opportunity; the kinds, their ratios and
 * what each can cause are GALE_FAULT_MAP's, in sim_profile.h), and how this decorator
 * injects each kind it injects:
 *   READY_SPURIOUS    wait() adds an event (the registration's interest bits, READ|WRITE
 *                     when it has none) for a live registration.
 *   READY_STALE       after fd_deregister, a later wait() reports the old token once.
 *   READY_DELAY       an event the inner wait() returned is held back to the next wait().
 *   READ_WOULD_BLOCK  read/readv/recv/accept return -EAGAIN without calling the inner op.
 *   WRITE_WOULD_BLOCK write/writev/send return -EAGAIN without calling the inner op.
 *   READ_SHORT        read/readv/recv ask the inner op for 1..len-1 bytes.
 *   WRITE_PARTIAL     write/writev/send hand the inner op 1..len-1 bytes.
 *   RESET             rolled per write/writev/send (a segment leaving, as the sim rolls it
 *                     per data segment) on a connected TCP socket only (nothing can reset
 *                     an AF_UNIX pair or a pipe): the op returns -ECONNRESET after the
 *                     connection is torn down; from then on reads return 0 and writes
 *                     -EPIPE, as after a real RST. The socket is disconnected through the
 *                     inner driver's connect with an AF_UNSPEC address (Linux's
 *                     tcp_disconnect): the peer gets a real RST (its next read is
 *                     -ECONNRESET) and the fd stays open; should that fail it is shut down
 *                     both ways instead, so its peer sees EOF. Not injected on a registered
 *                     fd that is ending (see PARTITION): a reset is mid-stream, never after
 *                     the peer's FIN or RST, as in the sim.
 *   ACCEPT_EMFILE     accept returns -EMFILE without calling the inner accept.
 *   CONNECT_SLOW      a connect the inner driver completed at once (0) reports
 *                     -EINPROGRESS instead; completion shows as writability, and
 *                     socket_error_take then reports 0, exactly like a slow handshake.
 *   PARTITION         withheld readiness, never the host's network configuration: one roll
 *                     per write op (len > 0: a segment leaving, as the sim rolls it per
 *                     segment; reads and their retries never roll) on a registered,
 *                     connected TCP stream socket not
 *                     already partitioned and not ending (once the inner wait() has reported
 *                     RDHUP, HUP or ERROR for it, the peer's FIN or RST has crossed already;
 *                     the reactor keeps those bits, so -EAGAIN from then on is an answer no
 *                     kernel gives, and a task would spin on it until the heal). The fd is
 *                     then partitioned for 1..partition_ns_max ns of the inner driver's
 *                     clock (GALE_FAULT_DRIVER_PARTITION_NS_DEFAULT when that is 0 or less):
 *                     its byte ops, this one included, return -EAGAIN without calling the
 *                     inner op, and the events the inner wait() reports for its token are
 *                     held back. wait() returns by the earliest heal (its timeout is
 *                     capped), and at the heal the fd's token is owed the held bits plus its
 *                     registered interest, so the waiting task retries and finds whatever
 *                     arrived meanwhile. Deregistering or closing the fd ends its partition.
 *                     Only that fd is held (the kernel still buffers what its peer sends);
 *                     its peer rolls for its own partition.
 * Whether an fd is a connected TCP socket (RESET, PARTITION) is asked of the inner driver
 * once per fd and cached: sockopt_get NODELAY, which only TCP knows, then addr_peer, which
 * fails until the handshake is done. PARTITION asks only while its ratio is not zero.
 * A kind not listed above is not injected here, among them CONNECT_REFUSED (a refusal of a
 * connect the kernel accepted could not be made consistent with the listener side),
 * LATENCY_JITTER (real sockets carry the bytes; only the sim controls time on the wire) and
 * ALLOC_FAIL (see sim_alloc.h).
 * EINTR is never injected: it never crosses the seam.
 *
 * A kernel never loses readiness. WouldBlock and EMFILE answered here leave the kernel's
 * edge-triggered readiness consumed by nobody, and no new edge will come for data that
 * is already there, so every op the decorator answers itself on a registered fd owes
 * that fd's token an event, delivered by the next wait() (which then does not block).
 * That is why WouldBlock is injected only on fds registered through this driver.
 *
 * Faults by count (the plan, SQLite TestFaultInject style): "fail the Nth call of op X
 * with error E, once or from then on". A planned failure does not call the inner op,
 * except close, which always releases the fd (driver.h).
 *
 * Every injected fault is counted (gale_fault_driver_stats_get) and, when a trace is
 * given, appended to it. Thread affinity: one thread, like the driver it wraps; wake() is
 * forwarded untouched (no plan, no counting), so it may come from any thread if the
 * inner driver allows it.
 */
#ifndef GALE_SIM_SIM_FAULT_H
#define GALE_SIM_SIM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

GALE_BEGIN_DECLS

/*
 * fds tracked at once: registered through this driver, or reset. A scenario holds a few
 * hundred (clients, accepted sockets, listeners); the table lives inside the struct (about
 * 40 KiB), so the decorator never allocates. When it is full, an fd registered next is
 * still registered with the inner driver but goes untracked until a slot frees: it then
 * gets no readiness fault, WouldBlock, EMFILE, PARTITION or RESET (each needs the
 * bookkeeping to stay consistent), only READ_SHORT, WRITE_PARTIAL, CONNECT_SLOW and the plan.
 */
#define GALE_FAULT_DRIVER_FDS_MAX 1024
#define GALE_FAULT_DRIVER_STALE_MAX 16  /* Stale tokens waiting to be reported. */
#define GALE_FAULT_DRIVER_PLAN_MAX 16   /* Planned failures. */
#define GALE_FAULT_DRIVER_NAME_MAX 48   /* Bytes of "fault(<inner name>)", NUL included. */
/* PARTITION's longest duration when the profile's partition_ns_max is 0 (10 ms): short,
 * since a real run waits it out on the wall clock. */
#define GALE_FAULT_DRIVER_PARTITION_NS_DEFAULT INT64_C(10000000)

/* One planned failure (see gale_fault_driver_plan_add). */
struct gale_fault_plan_entry {
	uint64_t nth;    /* Fail the nth call of op (1 = the first since init). */
	int error;       /* Negative code to return. */
	uint16_t op;     /* enum gale_trace_op. */
	bool persistent; /* Also fail every later call. */
};

/* The per-op plan: what to fail and how many calls each op has seen. */
struct gale_fault_plan {
	struct gale_fault_plan_entry entries[GALE_FAULT_DRIVER_PLAN_MAX]; /* In add order. */
	uint32_t entries_count;                                          /* Entries used. */
	uint64_t calls_count[GALE_TRACE_OP_COUNT_];                      /* Calls per op. */
};

/* What an fd is, as far as RESET and PARTITION care (asked of the inner driver, cached). */
enum gale_fault_fd_kind {
	GALE_FAULT_FD_KIND_UNKNOWN = 0,   /* Not asked yet. */
	GALE_FAULT_FD_KIND_OTHER,         /* Not TCP (AF_UNIX, UDP, pipe...): never asked again. */
	GALE_FAULT_FD_KIND_TCP,           /* TCP, not connected when last asked. */
	GALE_FAULT_FD_KIND_TCP_CONNECTED, /* TCP and connected (stays so until close). */
};

/* What the decorator knows about one fd. */
struct gale_fault_fd {
	int fd;                    /* The inner driver's fd. */
	uint32_t interest;         /* Registered interest (READ/WRITE bits). */
	uint64_t token;            /* Registered token. */
	uint32_t ready_owed;       /* Readiness to report on the next wait(). */
	uint32_t ready_withheld;   /* Held back by a partition; owed at the heal. */
	int64_t partition_heal_ns; /* Partitioned until this inner now_ns; 0: not partitioned. */
	uint8_t kind;              /* enum gale_fault_fd_kind. */
	bool registered;           /* Registered through this driver and not deregistered. */
	bool reset;                /* RESET injected: reads give 0, writes -EPIPE until close. */
	bool ending;               /* The inner wait() reported RDHUP, HUP or ERROR for it. */
};

struct gale_fault_driver {
	union {
		struct gale_driver base; /* Always first: a struct gale_driver * points here. */
		/* Private: do not touch. The forwarding base (driver.h): per-instance ops (the
		 * name embeds the inner name), the inner driver (borrowed; not deinit'd by us)
		 * and the plan, which runs before every forwarded op. */
		struct gale_driver_forward priv_forward;
	};
	char priv_name[GALE_FAULT_DRIVER_NAME_MAX]; /* "fault(epoll)". */
	const struct gale_fault_profile *priv_profile; /* Borrowed; NULL: no ratio faults. */
	struct gale_entropy *priv_entropy; /* Borrowed. */
	struct gale_trace *priv_trace;     /* Borrowed; may be NULL. */
	struct gale_fault_plan priv_plan;  /* Faults by count. */
	struct gale_fault_fd priv_fds[GALE_FAULT_DRIVER_FDS_MAX]; /* Tracked fds (unordered). */
	uint32_t priv_fds_count;           /* Entries used. */
	uint32_t priv_partitions_count;    /* Entries partitioned (wait() skips the scan at 0). */
	uint64_t priv_stale_tokens[GALE_FAULT_DRIVER_STALE_MAX]; /* FIFO of tokens to replay. */
	uint32_t priv_stale_count;         /* Entries used. */
	struct gale_fault_stats priv_stats; /* Ratio faults injected, by kind. */
	uint64_t priv_planned_count;       /* Calls failed by the plan. */
};

/**
 * Wraps inner. The result is used as &fault->base wherever a driver is expected.
 *
 * @param fault    caller-allocated; filled in place; must not move while in use.
 * @param inner    an initialised driver; borrowed until deinit, never deinit'd here.
 * @param profile  ratios of the faults listed above; NULL (or "none") injects nothing by
 *                 ratio, leaving only the plan. Borrowed until deinit.
 * @param entropy  the dice; borrowed until deinit; may be NULL only when profile is NULL.
 * @param trace    when not NULL, each ratio fault appends a GALE_TRACE_FAULT record (op =
 *                 enum gale_fault_kind, fd, a = requested length or token (PARTITION: its
 *                 duration in ns), result = what the op answered or asked of the inner op;
 *                 a heal is not a fault and is not recorded) and each planned failure a
 *                 GALE_TRACE_OP record (op = enum gale_trace_op, a = call number, result =
 *                 the error). time_ns is the inner driver's now_ns. Borrowed until deinit.
 * @return 0. The name becomes "fault(<inner name>)" (truncated to fit).
 */
GALE_EXTERN int gale_fault_driver_init(struct gale_fault_driver *fault, struct gale_driver *inner,
				       const struct gale_fault_profile *profile,
				       struct gale_entropy *entropy, struct gale_trace *trace);

/**
 * Forgets the decorator's state. Does NOT deinit the inner driver, nor close fds.
 * Idempotent on a zeroed or already deinit'd fault driver. gale_driver_deinit(&fault->base)
 * calls this.
 */
GALE_EXTERN void gale_fault_driver_deinit(struct gale_fault_driver *fault);

/**
 * Plans a failure by count: the nth call of op (counted since init, 1 = the first) returns
 * error instead of running; if persistent, every later call of op fails too. Entries are
 * checked in the order added; the first that matches wins.
 *
 * @param op     the op, as enum gale_trace_op (GALE_TRACE_OP_WRITE...).
 * @param error  a negative code the op may legally return per driver.h (the caller's
 *               responsibility); -EINTR is refused because it never crosses the seam.
 *               A planned -EAGAIN (or any error) on a registered fd's byte op or accept
 *               owes that fd a readiness event, as a ratio WouldBlock does.
 * @return 0, -EINVAL (unknown op, GALE_TRACE_OP_WAKE — wake() may run on another thread,
 *         so it is forwarded untouched —, nth 0, error >= 0 or -EINTR), -ENOSPC (full).
 */
GALE_EXTERN int gale_fault_driver_plan_add(struct gale_fault_driver *fault, enum gale_trace_op op,
					   uint64_t nth, int error, bool persistent);

/** Removes every planned failure (call counts keep running). */
GALE_EXTERN void gale_fault_driver_plan_clear(struct gale_fault_driver *fault);

/** Calls of op seen since init (planned failures included; wake is not counted); 0 for
 * a value that is no op. */
GALE_EXTERN uint64_t gale_fault_driver_calls_count(const struct gale_fault_driver *fault,
						   enum gale_trace_op op);

/** Ratio faults injected so far, by kind. */
GALE_EXTERN struct gale_fault_stats gale_fault_driver_stats_get(
	const struct gale_fault_driver *fault);

/** Calls failed by the plan so far. */
GALE_EXTERN uint64_t gale_fault_driver_planned_count(const struct gale_fault_driver *fault);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_FAULT_H */
