/* SPDX-License-Identifier: MIT */
/*
 * Private state of the scenario runner (scenario.h), shared by scenario.c (the run), the
 * pass-through driver that watches I/O (scenario_driver.c) and the oracles
 * (scenario_oracles.c). The runner's own bookkeeping allocates with malloc: it is not the
 * system under test, and run->allocator's counts must stay the scenario's alone.
 */
#ifndef GALE_SIM_SRC_SCENARIO_INTERNAL_H
#define GALE_SIM_SRC_SCENARIO_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/driver.h>
#include <gale/driver_epoll.h>
#include <gale/duplex.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/scenario.h>
#include <gale/sim_fault.h>
#include <gale/sim_resolve.h>

/* Fds a task record remembers (the most recent first), for stall messages. */
#define SCENARIO_TASK_FDS_MAX 3
/* A direction on which no op was made since the fd was opened. */
#define SCENARIO_RESULT_NONE INT64_MIN

/* A task the runner knows: spawned through gale_scenario_spawn() (named), or seen doing
 * I/O (unnamed: spawned with gale_executor_spawn(), e.g. a server's sessions). */
struct scenario_task {
	struct gale_task_handle handle;
	const char *name;                  /* NULL for unnamed tasks. */
	bool expect_error;                 /* Any result is accepted. */
	bool joined;                       /* The runner joined it (result valid). */
	int result;                        /* Its result once joined. */
	int fds[SCENARIO_TASK_FDS_MAX];    /* Fds it touched last, most recent first; -1. */
};

/* What a stream is declared to carry (gale_scenario_stream_expect_*). */
struct scenario_expect {
	uint8_t *bytes; /* Owned copy. */
	size_t len;     /* Bytes declared. */
	size_t offset;  /* Bytes written so far (all matched). */
};

/* An fd opened through the runner's driver, indexed by fd - state->fd_base. */
struct scenario_fd {
	bool open;                      /* Opened and not closed. */
	bool connecting;                /* connect() said -EINPROGRESS; outcome not seen. */
	uint8_t side;                   /* Real backends: the direction of stream it writes
					 * (stream->dirs[side]); it reads the other one. */
	const char *kind;               /* "socket", "accepted socket", "socketpair", "pipe". */
	int64_t read_last;              /* Last read/readv/recv/accept result, or NONE. */
	int64_t write_last;             /* Last write/writev/send/connect result, or NONE. */
	bool read_short;                /* read_last consumed bytes, fewer than asked. */
	bool write_short;               /* write_last took bytes, fewer than offered. */
	uint32_t opener;                /* Task record index + 1 that opened it; 0: none. */
	uint32_t stream;                /* Real backends: stream record index + 1; 0: none. */
	struct scenario_expect *expect; /* Declared content of what is written, or NULL. */
};

/* ---- Real backends: simulated hosts on loopback (scenario_addr.c) ---- */

/* A host the scenario added, and the loopback address standing for it. */
struct scenario_host {
	int family;        /* AF_INET or AF_INET6. */
	uint8_t sim[16];   /* The scenario's address (4 or 16 bytes used). */
	uint8_t real[16];  /* 127.0.0.N, or ::1. */
};

/* A socket bound to an explicit port: the scenario's endpoint and the kernel's. */
struct scenario_binding {
	int fd;
	struct sockaddr_storage sim;
	struct sockaddr_storage real;
};

struct scenario_addr_map {
	struct scenario_host hosts[GALE_SIM_HOSTS_MAX];
	uint32_t hosts_count;
	uint32_t v4_next;                  /* The next loopback host number (127.0.0.N). */
	struct scenario_binding *bindings; /* malloc'd. */
	uint32_t bindings_len;
	uint32_t bindings_cap;
};

/* ---- Real backends: the stream oracle on kernel sockets (scenario_streams.c) ---- */

/* One direction of a stream: what was written into it and what was read out. */
struct scenario_stream_dir {
	uint64_t written;     /* Bytes writes accepted. */
	uint64_t read;        /* Bytes reads returned. */
	uint64_t written_hash; /* FNV-1a of the bytes written. */
	uint64_t read_hash;    /* FNV-1a of the bytes read. */
	bool broken;          /* An error was seen on it (a reset loses bytes legally). */
};

/* A TCP connection (both ends in this process once accepted), a socketpair or a pipe. */
struct scenario_stream {
	int fds[2];                       /* [side]: the fd writing dirs[side]; -1: none/closed. */
	struct sockaddr_storage local;    /* TCP: the connecting end's real address... */
	struct sockaddr_storage remote;   /* ...and where it connected to (for pairing). */
	bool tcp_pending;                 /* TCP: the accepting end is not known yet. */
	struct scenario_stream_dir dirs[2];
};

/* Bytes one end of a duplex wrote that the other end has not read yet (a FIFO). */
struct scenario_shadow {
	uint8_t *buf;  /* cap bytes; the unread ones are [head, head + len). */
	size_t cap;
	size_t head;
	size_t len;
	uint64_t read_count; /* Bytes read from this direction so far. */
};

/* An observed duplex. Its observer's data is this record, so records never move. */
struct scenario_duplex {
	struct gale_scenario_state *state;
	struct gale_duplex *duplex;        /* NULL once deinit'd. */
	uint32_t number;                   /* 1, 2... in observation order, for messages. */
	struct gale_stream_observer observer;
	struct scenario_shadow shadows[2];  /* [e]: written by end e, read by end 1 - e. */
	struct scenario_expect *expects[2]; /* [e]: what end e is declared to write. */
};

/* The driver the runtime uses: every op goes to the sim, with bookkeeping on the way. */
struct scenario_driver {
	union {
		struct gale_driver base; /* Always first. */
		/* The forwarding base (driver.h): ops named after the backend's driver, and
		 * state->inner, where the ops scenario_driver.c does not write go. */
		struct gale_driver_forward forward;
	};
	struct gale_scenario_state *state;
};

/* run->allocator's inner allocator: a list of live blocks, so leftovers can be freed. */
struct scenario_arena {
	struct gale_allocator base;
	struct scenario_block *blocks; /* Live blocks (doubly linked). */
};

struct gale_scenario_state {
	struct gale_scenario_run *run;
	const struct gale_run_options *options; /* Borrowed for the run. */
	enum gale_backend backend;              /* options->backend. */
	struct gale_driver *inner;              /* What the runner's driver passes ops to:
						 * &run->sim.base, &kernel.base or &fault.base. */
	struct gale_driver_epoll kernel;        /* Real backends: the epoll driver. */
	struct gale_fault_driver fault;         /* FAULT_EPOLL. */
	bool kernel_ready;                      /* kernel is initialised. */
	bool fault_ready;                       /* fault is initialised. */
	int fd_base;                            /* fds[] index 0: GALE_SIM_FD_BASE on SIM. */
	int64_t time_start_ns;                  /* The driver's clock when the run began. */
	uint64_t ops_count;                     /* Ops through the runner's driver. */
	uint64_t connections_count;             /* Connects seen completing. */
	uint64_t connects_refused_count;        /* Connects seen refused. */
	struct scenario_addr_map addrs;         /* Real backends: hosts on loopback. */
	struct scenario_stream *streams;        /* Real backends: by index (never moved
						 * while referenced: realloc'd, indexed). */
	uint32_t streams_len;
	uint32_t streams_cap;
	struct scenario_driver driver;
	struct scenario_arena arena;
	struct gale_reactor_observer reactor_observer;
	struct gale_executor_observer executor_observer; /* Task polls, as side records. */
	struct gale_fault_profile alloc_profile; /* run->profile, ALLOC_FAIL off in setup. */
	struct gale_fault_profile kernel_profile; /* FAULT_EPOLL: run->profile in real time
						   * (partitions capped, scenario.c). */
	struct gale_fault_filter fault_filter;   /* options' faults_allowed, numbering state. */
	struct gale_sim_resolver resolver;       /* The run's names (scenario_resolve.c). */
	struct gale_fault_stats resolver_faults; /* Real backends: its faults, by kind. */
	bool runtime_ready;                      /* run->runtime is initialised. */
	bool short_io_linux;                     /* Linux's short-I/O world (scenario.h). */
	bool failed;                             /* A failure was recorded. */
	struct scenario_task *tasks;             /* Task records (they move when it grows). */
	uint32_t tasks_len;
	uint32_t tasks_cap;
	uint32_t *slot_map;                      /* Executor slot -> task index + 1; 0: none. */
	uint32_t slot_map_cap;
	uint64_t finished_seen;                  /* Finished tasks at the last join scan. */
	struct scenario_fd *fds;                 /* By fd - GALE_SIM_FD_BASE. */
	uint32_t fds_cap;
	uint64_t *tokens;                        /* Live reactor registrations seen. */
	uint32_t tokens_len;
	uint32_t tokens_cap;
	struct scenario_duplex **duplexes;       /* Observed duplexes (dead ones included). */
	uint32_t duplexes_len;
	uint32_t duplexes_cap;
	/* The per-poll budget (scenario_driver.c): driver ops one task poll made so far. */
	uint64_t poll_ops_at;                    /* Executor polls_count when counting began. */
	uint64_t poll_ops_count;                 /* Ops since then within that poll. */
	bool poll_ops_blown;                     /* Over budget: every op fails from now on. */
};

/* ---- scenario.c ---- */

/* Keeps a side record for timelines (gale_trace_side_append): never hashed. */
void gale__scenario_side(struct gale_scenario_state *state, enum gale_trace_kind kind,
			 uint16_t op, int fd, uint64_t a, int64_t result);

/* Records a failure (first wins), adding the current task's name and the trace step. */
void gale__scenario_failv(struct gale_scenario_state *state, enum gale_oracle oracle,
			  const char *format, va_list args) GALE_PRINTF(3, 0);
void gale__scenario_failf(struct gale_scenario_state *state, enum gale_oracle oracle,
			  const char *format, ...) GALE_PRINTF(3, 4);

/* The record of a task, created (unnamed) when create is set; NULL if unknown or out of
 * memory. The pointer is valid until the next record is created. */
struct scenario_task *gale__scenario_task_get(struct gale_scenario_state *state,
					      struct gale_task_handle handle, bool create);

/* The task being polled now (its record created if needed), or NULL outside a poll. */
struct scenario_task *gale__scenario_task_current(struct gale_scenario_state *state);

/* "'name'", or "#3.1 (unnamed)" (executor slot.generation), for messages. */
void gale__scenario_task_label(struct gale_scenario_state *state, struct gale_task_handle handle,
			       char *buf, size_t len);

/* ---- scenario_driver.c ---- */

/* Sets up the pass-through driver over run->sim. */
void gale__scenario_driver_init(struct gale_scenario_state *state);

/* True when options put the run in Linux's short-I/O world (scenario.h). */
bool gale__scenario_short_io_linux(const struct gale_run_options *options);

/* The fd's record when fd was opened through the runner's driver and is open, else NULL. */
struct scenario_fd *gale__scenario_fd_get(struct gale_scenario_state *state, int fd);

/* The reactor observer's ready_cleared: the readiness oracle. */
void gale__scenario_ready_cleared(void *data, uint64_t token, int fd, uint32_t ready_bits);

/* Checks bytes written against a declared stream; reports STREAM on a mismatch. what names
 * the stream for the message ("fd 1048576", "duplex #1 end 0"). */
void gale__scenario_expect_check(struct gale_scenario_state *state, struct scenario_expect *expect,
				 const char *what, const uint8_t *bytes, size_t len);

/* Copies a declaration, or NULL when out of memory. */
struct scenario_expect *gale__scenario_expect_new(const void *bytes, size_t len);
void gale__scenario_expect_free(struct scenario_expect *expect);

/* Forgets every fd record and registration (end of run; frees declarations). */
void gale__scenario_driver_deinit(struct gale_scenario_state *state);

/* Deregisters what the scenario left registered and closes what it left open, so the
 * runtime and the sim can be released after a failed (or leaky) run. */
void gale__scenario_driver_force_close(struct gale_scenario_state *state);

/* The fd's kind and the scenario's view of it, for messages ("fd 5 socket"; the sim's
 * own description on SIM). */
void gale__scenario_fd_describe(struct gale_scenario_state *state, int fd, char *buf,
				size_t len);

/* True on EPOLL and FAULT_EPOLL. */
static inline bool gale__scenario_is_real(const struct gale_scenario_state *state)
{
	return state->backend != GALE_BACKEND_SIM;
}

/* ---- scenario_addr.c ---- */

/* Assigns the next loopback address to ip's host (no-op if it has one). 0, -EINVAL,
 * -ENOSPC. */
int gale__scenario_addr_host_add(struct scenario_addr_map *map, const char *ip);

/* scenario_resolve.c: the run's resolver (names on every backend), installed on
 * run->runtime; and its release before the runtime's. */
void gale__scenario_resolver_init(struct gale_scenario_state *state);
void gale__scenario_resolver_deinit(struct gale_scenario_state *state);

/*
 * The kernel's address for a scenario's (addr, len): the binding's if one was made on that
 * exact endpoint, else its host's loopback address with the same port (wildcards and
 * loopback addresses become loopback). for_bind: an explicit port becomes 0 (the kernel
 * chooses). -EADDRNOTAVAIL (bind) / -EHOSTUNREACH (connect) for an address no host owns,
 * -EAFNOSUPPORT for another family, -EINVAL for a short length.
 */
int gale__scenario_addr_to_real(const struct scenario_addr_map *map, const struct sockaddr *addr,
				socklen_t len, bool for_bind, struct sockaddr_storage *real_out,
				socklen_t *real_len_out);

/* Rewrites a kernel address (in place) as the scenario knows it. */
void gale__scenario_addr_to_sim(const struct scenario_addr_map *map,
				struct sockaddr_storage *addr);

/* fd was bound to the scenario's addr as the kernel's real: remembered when addr names a
 * port (so connects to it find the kernel's). false: out of memory. */
bool gale__scenario_addr_bound(struct scenario_addr_map *map, int fd, const struct sockaddr *addr,
			       const struct sockaddr_storage *real);

/* The same address and port (AF_INET / AF_INET6; anything else is never the same).
 * Compares fields, never padding or the IPv6 flow label. */
bool gale__scenario_addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* fd was closed: its binding is forgotten. */
void gale__scenario_addr_closed(struct scenario_addr_map *map, int fd);

void gale__scenario_addr_deinit(struct scenario_addr_map *map);

/* ---- scenario_streams.c (real backends; SIM checks its own streams) ---- */

/* A TCP connect began on fd from local to remote (kernel addresses). */
void gale__scenario_streams_connecting(struct gale_scenario_state *state, int fd,
				       const struct sockaddr_storage *local,
				       const struct sockaddr_storage *remote);

/* fd was accepted: local and peer are its kernel addresses; it joins its connecting end. */
void gale__scenario_streams_accepted(struct gale_scenario_state *state, int fd,
				     const struct sockaddr_storage *local,
				     const struct sockaddr_storage *peer);

/* A socketpair (both directions) or a pipe (fds[1] writes, fds[0] reads). */
void gale__scenario_streams_pair(struct gale_scenario_state *state, const int fds[2]);

/* result bytes of iov were written to fd (result < 0: an error on that direction). */
void gale__scenario_streams_wrote(struct gale_scenario_state *state, int fd,
				  const struct iovec *iov, int iov_count, int64_t result);

/* result bytes were read from fd into iov (0: end of stream; < 0: an error). */
void gale__scenario_streams_read(struct gale_scenario_state *state, int fd,
				 const struct iovec *iov, int iov_count, int64_t result);

/* fd is about to be closed. */
void gale__scenario_streams_closed(struct gale_scenario_state *state, int fd);

void gale__scenario_streams_deinit(struct gale_scenario_state *state);

/* ---- scenario_oracles.c ---- */

/* GALE_E_STALL: tells LOST_WAKEUP (a pending task nothing visible can wake) from STALL. */
void gale__scenario_oracle_stall(struct gale_scenario_state *state);

/* A step or virtual-time limit was passed (what is the reason, e.g. "12 steps..."). */
void gale__scenario_oracle_limit(struct gale_scenario_state *state, const char *what);

/* The sim's stream-integrity record, checked after each turn and at the end. */
void gale__scenario_oracle_streams(struct gale_scenario_state *state);

/* Open fds, registrations and armed timers at the end (before the forced cleanup). */
void gale__scenario_oracle_leaks(struct gale_scenario_state *state);

/* The reactor observer's misuse callback (an AsyncFd guard consumed twice). */
void gale__scenario_misuse(void *data, const char *message);

/* Forgets every observed duplex (end of run). */
void gale__scenario_duplexes_deinit(struct gale_scenario_state *state);

#endif /* GALE_SIM_SRC_SCENARIO_INTERNAL_H */
