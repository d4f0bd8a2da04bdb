/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver: a struct gale_driver whose fds are virtual, whose network is a set of
 * simulated hosts, whose clock is virtual and whose every choice comes from one entropy
 * source, so a run is a pure function of its seed (or of fuzz input bytes).
 *
 * What is simulated (each rule mirrors Linux; where it simplifies, the doc says so):
 *   - Hosts. An implicit "localhost" (host 0) owns 127.0.0.1 and ::1; gale_sim_host_add()
 *     adds hosts with one address each. Ports are per (family, address); bind to an
 *     address no host owns is -EADDRNOTAVAIL; port 0 picks an ephemeral port from a
 *     per-host counter that starts at 40000 and counts up (wrapping to 40000 after 65535,
 *     skipping ports in use). A wildcard bind (0.0.0.0, ::) takes localhost's counter.
 *   - Port conflicts (SO_REUSEADDR, kept simple): bind fails with -EADDRINUSE when a socket
 *     already holds an overlapping (family, address, port) unless both this socket and
 *     every holder have REUSEADDR set and none of the holders is listening; listen fails
 *     with -EADDRINUSE when another socket listens on an overlapping address. Accepted
 *     sockets hold the listener's port (and inherit its options), as on Linux; closed
 *     sockets release their port at once (no TIME_WAIT). IPv4 and IPv6 ports are separate
 *     (no dual-stack sockets, no v4-mapped addresses).
 *   - connect() never completes at once: it returns -EINPROGRESS, the SYN reaches the
 *     listener one latency later, the SYN-ACK makes the client writable one more latency
 *     later, and the final ACK puts the connection into the listener's accept queue a
 *     third latency later (1.5 round trips, as in TCP). Without a listener (or when the
 *     backlog is full, or by the CONNECT_REFUSED fault) the reply is a RST: the client
 *     becomes ready with ERROR|HUP (|WRITE, |READ|RDHUP by interest) and
 *     socket_error_take() returns -ECONNREFUSED. A destination no host owns gives
 *     -EHOSTUNREACH the same way. An unbound client takes as source address localhost
 *     for loopback destinations, else the first host added (-ENETUNREACH if there is none
 *     of the destination's family).
 *   - A listener admits at most max(backlog, 1) connections that are in the handshake or
 *     waiting in its accept queue (a negative or larger backlog means 4096, SOMAXCONN);
 *     beyond that, connects are refused (Linux would drop the SYN and let it retry).
 *   - Byte streams (TCP connections, socketpairs, pipes) have one bounded buffer per
 *     direction, of socket_buf_size bytes unless SO_SNDBUF / SO_RCVBUF say otherwise (see
 *     socket options below). It holds both the bytes in flight and the bytes delivered but
 *     not yet read, so a writer can have at most that many bytes outstanding: a write
 *     takes what fits (a short count) and returns -EAGAIN when nothing fits. Space is
 *     given back as soon as the reader reads (no window-update delay). Bytes arrive in
 *     order, never duplicated; each write is one segment that arrives after latency
 *     (drawn in [latency_ns_min, latency_ns_max], plus LATENCY_JITTER), after the link
 *     carried it (bandwidth_bytes_per_s), and never before an earlier segment of the same
 *     direction. With zero delay, bytes are delivered inside the write call.
 *   - FIN and RST. shutdown(WRITE) queues a FIN behind the data: the peer reads the data, then
 *     0, and sees READ|RDHUP; it can still write. close() sends a FIN too, unless unread bytes
 *     remain in the closing socket's receive buffer or SO_LINGER is 0: then it sends a RST
 *     (Linux); a socket already in TCP_CLOSE (reset, or both FINs through, see shutdown below)
 *     sends nothing on close. Data that reaches a closed socket is dropped and answered with a
 *     RST. A RST makes the receiver's pending error ECONNRESET (EPIPE if it had already read
 *     the peer's FIN: Linux's CLOSE_WAIT rule) and reports READ|RDHUP|WRITE|HUP|ERROR. After a
 *     RST, reads return the bytes already delivered, then the pending error (unless a FIN was
 *     read first: then 0), then 0; writes return the pending error if one is pending, else
 *     -EPIPE. The pending error is consumed by whichever of read, write and socket_error_take
 *     sees it first (SO_ERROR semantics).
 *     So after a FIN and a close, the peer's next write succeeds, the RST comes back one
 *     latency later, and the write after that fails with -EPIPE.
 *     Data reaching a socket that shut down both its read side and (by shutdown or FIN)
 *     its write side is answered with a RST too, as Linux does in FIN_WAIT (RFC 1122):
 *     the data is dropped, that socket resets (ECONNRESET) and the sender gets the RST.
 *   - shutdown(2) of a TCP socket that is connected in name only is -ENOTCONN, whatever
 *     how is, as Linux answers for TCP_CLOSE: after a RST, and once both sides finished
 *     (this socket's FIN reached the peer and the peer's FIN arrived here). The sim has no
 *     ACKs; its FIN arriving stands for the ACK Linux waits for, so the sim says -ENOTCONN
 *     up to one latency before Linux would. Socketpairs never say -ENOTCONN (unix_shutdown
 *     does not). gale_tcp_stream_shutdown() turns this -ENOTCONN into 0 on every driver.
 *     addr_peer (getpeername) follows the same rule: -ENOTCONN after a RST and after both
 *     FINs (inet_getname on TCP_CLOSE), the peer's address while only one FIN went.
 *   - shutdown(2) of a listening socket is 0 (inet_shutdown on TCP_LISTEN): the WRITE side
 *     alone changes nothing; READ or BOTH stops listening (queued connections are reset,
 *     accept is -EINVAL, SO_ACCEPTCONN reads 0, readiness is WRITE|HUP) and leaves a bound
 *     socket that may listen again. Deliberate difference: the sim keeps the port, where
 *     Linux releases a port it picked itself (bind to port 0, or listen unbound). A socket
 *     not connected (new, bound, refused) says -ENOTCONN, as Linux does. Known difference,
 *     kept: shutdown(2) of a socket still connecting is -ENOTCONN here, where Linux aborts
 *     the SYN (tcp_disconnect), returns 0 and leaves ECONNRESET pending. On loopback the
 *     kernel answers a SYN inside connect(), so user code cannot observe that state there;
 *     only simulated latency makes it visible.
 *   - Socketpairs behave as AF_UNIX stream pairs: closing one end makes the other's
 *     writes fail with -EPIPE at once and its reads return the remaining bytes, then 0
 *     (and -ECONNRESET first when the closing end left unread bytes, as Linux does);
 *     its getpeername still answers (unix_release_sock leaves the survivor's peer set).
 *     Pipes: writing with no reader is -EPIPE (readiness ERROR), reading with no writer
 *     returns the remaining bytes, then 0 (readiness HUP). Pair and pipe bytes take
 *     pair_latency_ns (default 0). Network faults (RESET, LATENCY_JITTER, PARTITION) apply
 *     to TCP only.
 *   - Socket options are stored per fd and returned by sockopt_get: NODELAY 0, REUSEADDR
 *     0, KEEPALIVE 0, SNDBUF and RCVBUF socket_buf_size, LINGER -1, TTL 64, V6ONLY 0.
 *     SNDBUF and RCVBUF read back as Linux's sock_setsockopt stores them: the value set
 *     is clamped to wmem_max / rmem_max, doubled, and raised to SOCK_MIN_SNDBUF /
 *     SOCK_MIN_RCVBUF. The bounds modelled are the x86_64 kernel defaults: wmem_max =
 *     rmem_max = 212992, SOCK_MIN_SNDBUF = 4608, SOCK_MIN_RCVBUF = 2304; so setting 16384
 *     reads back 32768, 100 reads back 4608 (SNDBUF) or 2304 (RCVBUF), and anything from
 *     212992 up reads back 425984. Deliberate differences: a machine whose rmem_max /
 *     wmem_max sysctls differ reads back otherwise above the lower limit; and defaults are
 *     socket_buf_size, not Linux's (tcp_wmem / tcp_rmem, which autotuning then grows).
 *     A size set explicitly bounds the stream (and one set on a listener is inherited by
 *     the sockets it accepts). The model, from what Linux lets a non-blocking writer queue
 *     on loopback before -EAGAIN: a TCP direction holds the writer's share plus the
 *     reader's share, each half the stored size when set (so about the size asked), else
 *     socket_buf_size / 2; with neither set it stays socket_buf_size. Linux measured (6.x,
 *     1 KiB writes): both ends set to 4096 / 8192 / 16384 queue 9216 / 18432 / 39936 bytes
 *     (the sim: 8192 / 16384 / 32768). An AF_UNIX direction holds half the writer's stored
 *     SO_SNDBUF when set (Linux charges the writer: 4096 -> 4096, 16384 -> 15360; the
 *     sim: 4096, 16384); the reader's SO_RCVBUF does not bound it, as on Linux. Pipes
 *     ignore both. Approximations: Linux counts skb truesize, not payload, grows unset
 *     buffers by autotuning (a small RCVBUF on the reader alone still lets megabytes queue
 *     behind the writer's grown send buffer there; in the sim, half of socket_buf_size),
 *     and cannot shrink a window already advertised; the sim applies a new size at once
 *     (bytes already outstanding stay; new writes wait until the stream drains below
 *     it). ACCEPTCONN reads 1 on a listening socket, else 0, and like Linux
 *     cannot be set (-EINVAL here, by gale's rule for values). Values outside the
 *     documented ranges are -EINVAL, options a socket type lacks are -ENOPROTOOPT, pipes
 *     are -ENOTSOCK, checked in Linux's order (the fd, then the option, then the value;
 *     the epoll driver asks the kernel about the fd before refusing a value too).
 *   - Virtual fds are numbered from GALE_SIM_FD_BASE up; the lowest free number is used
 *     first (as the kernel does), so a closed number is reused by the next socket. A
 *     virtual fd that leaks into a real syscall fails with EBADF instead of touching a
 *     real descriptor. Any op on a number that is not an open virtual fd is -EBADF.
 *     Closing a registered fd also removes its registration (as closing the last
 *     reference does for epoll), but callers should deregister first.
 *
 * Readiness is edge-triggered, and stricter than Linux: each registration remembers the
 * bits (READ, WRITE, RDHUP, HUP, ERROR) it last reported as true, and a bit is reported
 * again only after it went false and became true again: a READ event comes when the
 * receive buffer goes from empty to non-empty (not for more bytes arriving while it is
 * non-empty), a WRITE event when a full buffer gets space. A read that drains the buffer
 * or returns -EAGAIN, and a write that fills it, re-arm. Registering and re-registering
 * report the current readiness once. An event carries every bit true at wait() time,
 * filtered like epoll (READ, RDHUP need READ interest, WRITE needs WRITE interest, HUP and
 * ERROR always); an event whose bits all went false before wait() is dropped. So code that
 * clears readiness after a short read, or forgets to drain, hangs here as it would on
 * epoll, only more reliably.
 *
 * Time is virtual: wait() returns ready events without moving the clock; with none, it
 * moves the clock to the earliest of the next scheduled event and now + timeout,
 * processes what became due, and repeats until something is ready or the timeout passed.
 * wait(-1) with nothing ready and nothing scheduled returns GALE_E_STALL.
 *
 * Faults (options.profile, rolled with gale_fault_roll, each counted in the stats and
 * traced as GALE_TRACE_FAULT; every one is behaviour a kernel may show): each kind's
 * opportunity and effect here is written once, at its entry in GALE_FAULT_MAP
 * (sim_profile.h: the comments marked "Sim" or "Both"). ALLOC_FAIL is not the driver's
 * (see sim_alloc.h).
 *
 * Determinism: nothing reads the wall clock, addresses of objects or hash-table order;
 * equal times are ordered by scheduling sequence. The sim's own bookkeeping allocates
 * with malloc (it is not the system under test); no allocation depends on pointer values.
 *
 * Thread affinity: one thread. wake() only makes the next blocking wait() return 0.
 */
#ifndef GALE_SIM_SIM_H
#define GALE_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

GALE_BEGIN_DECLS

/* The first virtual fd number (far above any real descriptor a test process holds). */
#define GALE_SIM_FD_BASE (1 << 20)
/* Hosts a sim can hold, localhost included. */
#define GALE_SIM_HOSTS_MAX 64
/* The first ephemeral port of every host. */
#define GALE_SIM_EPHEMERAL_PORT_FIRST 40000
/* Leak reports name at most this many fds. */
#define GALE_SIM_LEAKS_FDS_MAX 8

struct gale_sim_options {
	/* Seeds the sim's own entropy (SplitMix64 -> xoshiro256**). Ignored when entropy is
	 * set. Default 0. */
	uint64_t seed;
	/* Fault knobs, rolled per opportunity; NULL (the default) means no faults at all
	 * (and no entropy spent on them). Borrowed until deinit; the pointee may be changed
	 * between ops (tests switch one fault on for one op). */
	const struct gale_fault_profile *profile;
	/* When set, every choice is drawn from this entropy (e.g. fuzz input bytes) instead
	 * of one seeded from seed. Borrowed until deinit. Default NULL. */
	struct gale_entropy *entropy;
	/* When set, every op, event handed out, fault and scheduling choice is appended.
	 * Borrowed until deinit. Default NULL. */
	struct gale_trace *trace;
	/* One-way delay of every TCP segment (SYN, data, FIN, RST), drawn uniformly in
	 * [min, max] per segment (no draw when equal). Default 50 us .. 500 us. */
	int64_t latency_ns_min;
	int64_t latency_ns_max;
	/* Bytes per second one direction of a TCP connection carries; 0 (the default) is
	 * unlimited. A segment of n bytes occupies the link n / rate seconds. */
	uint64_t bandwidth_bytes_per_s;
	/* The bound of each direction of a stream (in flight + unread) while neither end set
	 * SO_SNDBUF / SO_RCVBUF (see the model above). Default 64 KiB. */
	size_t socket_buf_size;
	/* One-way delay of socketpair and pipe bytes. Default 0 (delivered inside write). */
	int64_t pair_latency_ns;
	/* Open virtual fds at most; socket, accept, socketpair and pipe beyond it are
	 * -EMFILE. Default 65536. */
	uint32_t fds_max;
	/* The virtual clock at init. Default 0. */
	int64_t time_start_ns;
	/* When set, faults the profile decides go through this filter (sim_profile.h): the
	 * ones it withholds are neither injected nor counted. Borrowed until deinit; shared
	 * with the run's allocator so one numbering covers both. Default NULL. */
	struct gale_fault_filter *fault_filter;
	/* Which world short I/O lives in. false (the default): readiness as emulated by
	 * poll-based backends, where a short count proves nothing; READ_SHORT and
	 * WRITE_PARTIAL are injected as the profile says, and the driver declares no
	 * capability. true: Linux's world; the driver declares GALE_DRIVER_CAP_READ_SHORT_
	 * DRAINED and GALE_DRIVER_CAP_WRITE_SHORT_FULL, and keeps them: a read is short only
	 * when it drained what was delivered, a write only when it filled the buffer (READ_SHORT
	 * and WRITE_PARTIAL are never rolled), and any later arrival or freed space is a new
	 * edge (the re-arm after every op). */
	bool short_io_proves;
};

/* Counters since init. */
struct gale_sim_stats {
	int64_t time_ns;                 /* The virtual clock now. */
	uint64_t ops_count;              /* Driver ops called (now_ns excluded). */
	uint64_t waits_count;            /* wait() calls. */
	uint64_t events_count;           /* Events handed out by wait() (faulty ones included). */
	uint64_t segments_count;         /* Segments (data, FIN, RST) sent on streams. */
	uint64_t bytes_delivered;        /* Stream bytes that reached their receiver. */
	uint64_t connections_count;      /* TCP connections established (client side). */
	uint64_t connects_refused_count; /* connects that failed (refused, unreachable). */
	uint64_t resets_count;           /* RSTs received by an open socket. */
	uint32_t fds_open_count;         /* Virtual fds open now. */
	uint32_t registrations_count;    /* Registered fds now. */
	struct gale_fault_stats faults;  /* Injected faults, by kind. */
};

/* What is still open: the oracle's leak check (see gale_sim_leaks). */
struct gale_sim_leaks {
	uint32_t fds_open_count;                /* Virtual fds not closed. */
	uint32_t registrations_count;           /* fds still registered. */
	uint32_t fds_len;                       /* Entries used in fds[]. */
	int fds[GALE_SIM_LEAKS_FDS_MAX];        /* The lowest open fds (describe them with
						 * gale_sim_fd_describe). */
};

/* Results of gale_sim_check_streams(). */
enum gale_sim_check {
	GALE_SIM_CHECK_OK = 0,             /* Every stream delivered a prefix of what was sent. */
	GALE_SIM_CHECK_STREAM_CORRUPT = 1, /* Bytes read differ from the bytes written. */
	GALE_SIM_CHECK_STREAM_EXCESS = 2,  /* More bytes read than written (duplication). */
	GALE_SIM_CHECK_STREAM_LOST = 3,    /* End of stream read before every byte was. */
};

struct gale_sim_state; /* Private, defined in sim/src/sim_internal.h. */

struct gale_sim {
	struct gale_driver base; /* Always first: hand &sim->base to gale. */
	/* Private: do not touch. */
	struct gale_sim_state *priv_state; /* Everything else; NULL before init / after deinit. */
};

/** The defaults documented field by field in struct gale_sim_options (faults off). */
GALE_EXTERN struct gale_sim_options gale_sim_options_default(void);

/**
 * Initialises a simulated driver.
 *
 * @param sim      caller-allocated; filled in place (sim->base is the driver).
 * @param options  borrowed for the call (its pointers: until deinit); NULL means defaults.
 * @return 0, -EINVAL (latency_ns_min < 0 or > latency_ns_max, socket_buf_size 0 or above
 *         1 GiB, fds_max 0 or above 2^24, pair_latency_ns < 0), -ENOMEM. On failure
 *         sim->base.ops is NULL and nothing is allocated.
 */
GALE_EXTERN int gale_sim_init(struct gale_sim *sim, const struct gale_sim_options *options);

/**
 * Releases the sim, checked: while virtual fds are open or registrations live it returns
 * -EBUSY and frees nothing (gale_sim_leaks() names them); close them and call again.
 * @return 0 or -EBUSY. Idempotent on a zeroed or deinit'd sim. The driver op deinit
 * (gale_driver_deinit) releases everything unconditionally instead: it cannot report.
 */
GALE_EXTERN int gale_sim_deinit(struct gale_sim *sim);

/**
 * Adds a host owning one address.
 *
 * @param address_text  an IPv4 ("10.0.0.1") or IPv6 ("fd00::1") address; borrowed.
 * @param host_id_out   set to the host's id (1, 2, ... in order; localhost is 0); may be
 *                      NULL.
 * @return 0, -EINVAL (not an address, or a wildcard), -EEXIST (a host owns it already),
 *         -ENOSPC (GALE_SIM_HOSTS_MAX hosts).
 */
GALE_EXTERN int gale_sim_host_add(struct gale_sim *sim, const char *address_text,
				  uint32_t *host_id_out);

/** Counters since init. */
GALE_EXTERN struct gale_sim_stats gale_sim_stats_get(const struct gale_sim *sim);

/**
 * Fills report_out with the open fds and live registrations.
 * @return fds_open_count + registrations_count: 0 means nothing leaked.
 */
GALE_EXTERN uint32_t gale_sim_leaks(const struct gale_sim *sim, struct gale_sim_leaks *report_out);

/**
 * Describes a virtual fd for messages, e.g. "fd 1048577 tcp connected 127.0.0.1:40000 ->
 * 127.0.0.1:40001 registered". @return snprintf's result (the length it wanted).
 */
GALE_EXTERN int gale_sim_fd_describe(const struct gale_sim *sim, int fd, char *buf,
				     size_t buf_len);

/**
 * The stream-integrity oracle. Every stream keeps, per direction, the count and an FNV-1a
 * hash of the bytes writes accepted and of the bytes reads returned (peeks excluded).
 * FNV over a prefix can only be compared at equal lengths, so the check runs each time a
 * reader has read exactly everything the writer wrote (every full drain, always at end of
 * stream): hashes must match there, a reader may never be ahead of its writer, and a FIN
 * may be read only after every byte written before it. The first failure is recorded
 * when it happens (the stream may be gone since); this reports it. Cost: O(1) per op.
 *
 * @param message_buf  receives a one-line description naming the fds (may be NULL when
 *                     message_len is 0); borrowed for the call.
 * @return GALE_SIM_CHECK_OK (0) or the enum gale_sim_check of the first failure.
 */
GALE_EXTERN int gale_sim_check_streams(const struct gale_sim *sim, char *message_buf,
				       size_t message_len);

/**
 * The scheduling hook for gale_executor_schedule_set(&runtime.executor,
 * gale_sim_schedule, &sim): picks the runnable task to poll next from the sim's entropy.
 * Mostly FIFO (index 0, the neutral answer: an exhausted fuzz input runs FIFO), one time
 * in four a uniformly drawn index. One runnable task costs no draw. Traced as
 * GALE_TRACE_SCHEDULE (a = index, result = runnable_count).
 *
 * @param data  the struct gale_sim *.
 * @return an index < runnable_count. The executor calls it with runnable_count > 0 only
 *         (asserted: there is no index to return for 0).
 */
GALE_EXTERN uint32_t gale_sim_schedule(void *data, uint32_t runnable_count);

/** The entropy every choice of this sim comes from (scenarios may draw from it too). */
GALE_EXTERN struct gale_entropy *gale_sim_entropy(struct gale_sim *sim);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_H */
