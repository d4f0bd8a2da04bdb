/* SPDX-License-Identifier: MIT */
/*
 * Scenarios: runs of user code checked by oracles, deterministic on the simulator and also
 * possible on the real kernel (enum gale_backend below).
 *
 * A scenario sets up hosts and spawns tasks on a runtime whose driver is the simulator (or
 * the kernel); gale_scenario_run() runs it under one seed (or one fuzz input) and one fault
 * profile, then checks the oracles, which are on in every run and on every backend:
 *   LOST_WAKEUP  the runtime is idle, a task is pending and no waker the runtime can see
 *                (reactor slot or waiter, timer, join, observed duplex) names it: nothing
 *                can ever wake it. The message names the task and the fds it touched
 *                last, and says that a waker kept where the runner cannot see (the
 *                scenario's own object, a combinator that wraps wakers) would make it a
 *                deadlock instead;
 *   STALL        the runtime is idle, tasks are pending and each one's waker is held by
 *                one of those (a deadlock between tasks, or waiting on a peer that will
 *                never act): the message names each task and what it waits on (fd, end
 *                of a duplex, join, timer);
 *   STREAM       bytes read differ from bytes written (order, loss, duplication) on a
 *                simulated connection, socketpair, pipe, or an observed duplex pipe
 *                (gale_scenario_observe_duplex()); or bytes written differ from what the
 *                scenario declared a stream must carry (gale_scenario_stream_expect_fd(),
 *                gale_scenario_stream_expect_duplex()): how a writer's cursor bug that
 *                sends some bytes twice is caught, since the transport itself carries
 *                duplicated bytes faithfully;
 *   READINESS    readiness cleared although the last operation in that direction did not
 *                report it would block (-EAGAIN; for a connecting socket -EINPROGRESS,
 *                -EALREADY or addr_peer's -ENOTCONN), or a ready guard consumed twice.
 *                When one clear covers both directions (a READ|WRITE guard), one of the
 *                two having blocked is enough;
 *   CONTRACT     a read_exact / write_all contract broken (reported by scenario code
 *                through gale_scenario_fail(run, GALE_ORACLE_CONTRACT, ...));
 *   LEAK         at the end: open fds, live registrations, armed timers (a sleep dropped
 *                without its deinit: once the last task finished the runner does not
 *                wait for timers nobody can observe), unfreed allocations (through
 *                run->allocator);
 *   CHECK        the scenario's own end-of-run check failed;
 *   TASK         a task finished with an error the scenario did not expect (tasks spawned
 *                with gale_scenario_spawn() must finish with 0);
 *   LIMIT        the run exceeded its step or virtual-time limit (a livelock).
 * Every failure message names the task, the resource and the trace step: it ends with
 * " (step N)", N being the number of trace records at the failure, preceded by
 * ", in task 'NAME'" when it was found while a task was being polled (tasks not spawned
 * with gale_scenario_spawn() are named "#slot.generation (unnamed)").
 * On SIM a run is a pure function of (scenario, seed or fuzz bytes, profile): replaying it
 * gives the same trace hash, bit for bit. On a real backend the seed still decides the
 * scenario's draws, the task order and the fault driver's dice, but not the kernel's timing.
 *
 * The STREAM oracle on a real backend checks the bytes the runner's driver saw go in at one
 * end of a connection, socketpair or pipe against those read at the other end (both ends
 * are in the process); the LEAK oracle counts the fds opened through it.
 *
 * What the runner watches, and so what scenario code must go through:
 *   - I/O: gale_scenario_driver(run) (the same driver as gale_runtime_driver(&run->runtime)):
 *     a pass-through over run->sim that records, per fd, the last result of each direction
 *     (the readiness oracle) and the bytes written (stream expectations). Calling
 *     &run->sim.base directly escapes those two oracles.
 *   - Memory: run->allocator.base (the runtime uses it too). Its leftovers are the leak
 *     oracle's; the runner reclaims them after reporting, so a leaky run leaks nothing real.
 *   - ALLOC_FAIL faults are off while setup runs (so setup itself is not a coin toss) and
 *     on from the first task poll.
 *   - Observed duplexes (gale_scenario_observe_duplex()): their bytes and their wakers.
 */
#ifndef GALE_SIM_SCENARIO_H
#define GALE_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/sim_alloc.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

GALE_BEGIN_DECLS

/* X(NAME, name, description): the oracles. Append only. */
#define GALE_ORACLE_MAP(X)                                                                  \
	X(NONE, none, "no failure")                                                        \
	X(LOST_WAKEUP, lost_wakeup, "a pending task that nothing can wake")                \
	X(STALL, stall, "pending tasks with nothing scheduled (deadlock)")                 \
	X(STREAM, stream, "bytes read differ from bytes written")                          \
	X(READINESS, readiness, "readiness cleared without WouldBlock, or a guard reused") \
	X(CONTRACT, contract, "read_exact / write_all contract broken")                    \
	X(LEAK, leak, "fds, registrations, tasks or allocations left at the end")          \
	X(CHECK, check, "the scenario's own end-of-run check failed")                      \
	X(TASK, task, "a task finished with an unexpected error")                          \
	X(LIMIT, limit, "step or virtual-time limit exceeded (livelock)")                  \
	X(SETUP, setup, "the scenario could not set up")

enum gale_oracle {
#define GALE_ORACLE_ENUM(name, field, description) GALE_ORACLE_##name,
	GALE_ORACLE_MAP(GALE_ORACLE_ENUM)
#undef GALE_ORACLE_ENUM
	GALE_ORACLE_COUNT
};

/*
 * Where a run's I/O goes. Scenario code is the same on every backend; what differs:
 *   SIM          the simulator (run->sim): deterministic, every fault kind, replays bit
 *                for bit (trace hash), virtual time.
 *   EPOLL        the real kernel over loopback, real time. Each simulated host becomes a
 *                loopback address of its own (127.0.0.2, 127.0.0.3, ... in the order the
 *                hosts are added; localhost stays 127.0.0.1; every IPv6 host is ::1), and
 *                every port a scenario binds is whatever the kernel gives: the runner's
 *                driver translates addresses both ways, so scenario code keeps seeing its
 *                own ("10.0.0.1:7000"). A destination no host owns is -EHOSTUNREACH at
 *                once (never a packet off the machine). No faults; not replayable.
 *                Where the kernel's rules differ: an unbound client connects from
 *                127.0.0.1 (the sim: from the first host added), a wildcard bind stands
 *                on 127.0.0.1 only, and a listener's backlog drops handshakes instead of
 *                refusing them (a client then retries a second later).
 *   FAULT_EPOLL  the fault driver (sim_fault.h) over EPOLL, its decisions drawn from the
 *                seed and the profile: the kinds it can inject on real sockets (see
 *                sim_fault.h), PARTITION as withheld readiness (at most 2 ms: time is
 *                real here) and RESET as a real RST.
 *                The kernel's timing is not the seed's: a run replays only approximately.
 * On the real backends run->sim is not initialised (run->sim.base.ops == NULL): use
 * gale_scenario_stats() and gale_scenario_backend() instead of gale_sim_*() calls.
 * The oracles all work on every backend; STALL and LOST_WAKEUP on a real backend fire
 * when the runtime has stayed idle (no event, no task polled) with tasks pending and no
 * timer armed for gale_run_options.idle_limit_ns.
 */
enum gale_backend {
	GALE_BACKEND_SIM = 0,
	GALE_BACKEND_EPOLL,
	GALE_BACKEND_FAULT_EPOLL,
	GALE_BACKEND_COUNT
};

/** "sim", "epoll", "fault-epoll"; "unknown" for a value past the last. */
GALE_EXTERN const char *gale_backend_name(enum gale_backend backend);

/*
 * The world short I/O lives in (driver.h, GALE_DRIVER_CAP_*). In the conservative world the
 * runner's driver vouches for nothing, so only -EAGAIN may clear readiness, and READ_SHORT
 * and WRITE_PARTIAL are injected as the profile says. In Linux's world it declares what the
 * backend keeps (the sim: both promises, sim.h short_io_proves; epoll: both; the fault
 * driver: both, since READ_SHORT and WRITE_PARTIAL are then switched off), and the
 * readiness oracle accepts a clear after a short count. By seed (the default), odd seeds
 * run in Linux's world and even ones (and fuzz bytes) in the conservative one, so every
 * campaign covers both and a seed replays in its own.
 */
enum gale_short_io_world {
	GALE_SHORT_IO_BY_SEED = 0,
	GALE_SHORT_IO_CONSERVATIVE,
	GALE_SHORT_IO_LINUX,
};

/**
 * Parses a backend name (exactly as gale_backend_name() spells it).
 * @return 0 with *backend_out set, or -EINVAL (NULL or unknown text; *backend_out untouched).
 */
GALE_EXTERN int gale_backend_parse(const char *text, enum gale_backend *backend_out);

struct gale_scenario_run;
struct gale_scenario_state; /* Private, defined in sim/src/scenario_internal.h. */
struct gale_duplex;

struct gale_scenario {
	const char *name;        /* Unique, [a-z0-9_-]; what `gale run --scenario` takes. */
	const char *description; /* One line for `gale list`. */
	size_t state_size;       /* Bytes of zeroed state the runner allocates per run. */
	/*
	 * REQUIRED. Adds hosts (gale_scenario_host_add()) and spawns tasks
	 * (gale_scenario_spawn()). May draw from run->entropy (gale_scenario_draw()) to vary
	 * sizes and counts per seed. Returns 0 or a negative code (oracle SETUP).
	 */
	int (*setup)(struct gale_scenario_run *run, void *state);
	/*
	 * Optional. Called when every task finished and no oracle failed (every task spawned
	 * with gale_scenario_spawn() is joined by then: gale_scenario_task_result() answers):
	 * checks end results and reports a failure with gale_scenario_fail(run,
	 * GALE_ORACLE_CHECK, ...). Returns 0 or a negative code (oracle CHECK as well).
	 */
	int (*check)(struct gale_scenario_run *run, void *state);
	/*
	 * Optional. Always called (also after failures, when unfinished tasks have been
	 * aborted: they are never polled again), after check and before the leak oracle:
	 * closes what setup opened that the tasks did not, so the leak oracle sees only real
	 * leaks. Must not fail.
	 */
	void (*teardown)(struct gale_scenario_run *run, void *state);
	/*
	 * Optional: the simulated network's shape (socket_buf_size, latency, fds_max...).
	 * NULL: gale_sim_options_default(). Its seed, profile, entropy and trace fields are
	 * ignored: the runner sets them.
	 */
	const struct gale_sim_options *sim_options;
};

struct gale_run_options {
	uint64_t seed;                             /* Seed mode (ignored with fuzz bytes). */
	const uint8_t *fuzz_bytes;                 /* Bytes mode when non-NULL; borrowed. */
	size_t fuzz_len;                           /* Their length. */
	const struct gale_fault_profile *profile;  /* NULL: "none". */
	bool swarm;                                /* Draw the profile per seed instead. */
	size_t trace_records_max;                  /* Records kept for dumps (0: hash only). */
	uint64_t steps_max;                        /* Task polls + driver ops; 0: 10 million. */
	int64_t time_limit_ns;                     /* Virtual time limit; 0: 1 hour. */
	/*
	 * Shrinking (replay --only-faults): with faults_filter set, only the faults whose
	 * number (their order in this run: 0, 1, ...) is in faults_allowed are injected; the
	 * others are rolled and withheld (struct gale_fault_filter). An empty list then means
	 * no fault at all.
	 */
	bool faults_filter;
	const uint64_t *faults_allowed;            /* Ascending; borrowed for the call. */
	size_t faults_allowed_count;               /* Entries. */
	uint32_t faults_off;                       /* Bit k: fault kind k switched off after
						    * the profile is chosen (shrinking). */
	bool draws_min;                            /* Every gale_scenario_draw() answers its
						    * minimum (shrinking: fewest clients,
						    * shortest messages); no entropy spent. */
	enum gale_backend backend;                 /* Where I/O goes; 0: GALE_BACKEND_SIM. */
	int64_t idle_limit_ns;                     /* Real backends: idle this long with
						    * tasks pending and no timer armed is a
						    * stall; 0: 5 s. Ignored on SIM (its
						    * stall is exact). */
	enum gale_short_io_world short_io;         /* 0: by seed. */
};

struct gale_run_result {
	enum gale_oracle oracle;       /* GALE_ORACLE_NONE when every check passed. */
	char message[512];             /* The first failure, naming task, resource, step. */
	char task[96];                 /* The task polled when it was recorded, as the message
					* names it ("'client'", "#3.1 (unnamed)"); "" outside
					* task polls (setup, check, the runner's own oracles). */
	uint64_t trace_hash;           /* Hash of the whole trace (replay must match). */
	uint64_t trace_count;          /* Records in the trace. */
	uint64_t failure_step;         /* Trace records at the failure (0 when none, or
					* before the first record, e.g. in setup). */
	struct gale_sim_stats sim;     /* Simulated time, ops, faults by kind..., as the
					* scenario left the world (after teardown, before
					* the runner closes what leaked); faults.injected
					* also counts run->allocator's ALLOC_FAIL faults. */
	uint64_t polls_count;          /* Task polls. */
	struct gale_fault_profile profile; /* The profile used (the drawn one with swarm). */
	enum gale_backend backend;     /* Where it ran. On a real backend trace_hash covers
					* only the fault decisions and sim holds what
					* gale_scenario_stats() counts (time_ns is wall time). */
};

/*
 * What scenario code sees. Fields are public for scenario code; the runner owns them.
 */
struct gale_scenario_run {
	struct gale_sim sim;               /* The simulated driver (SIM only: zeroed on the
					    * real backends). */
	struct gale_runtime runtime;       /* Executor + reactor + timers over
					    * gale_scenario_driver(run), which passes every op
					    * on to sim.base. */
	struct gale_sim_allocator allocator; /* Counts (and fails) allocations: the leak oracle. */
	struct gale_trace trace;           /* The run's trace. */
	struct gale_entropy entropy;       /* The run's single source of choices. */
	struct gale_fault_profile profile; /* The profile in force. */
	const struct gale_scenario *scenario; /* What runs. */
	uint64_t seed;                     /* The seed (0 in bytes mode). */
	/* Private: do not touch. */
	struct gale_run_result *priv_result;   /* Where failures go (first one wins). */
	struct gale_scenario_state *priv_state; /* Runner bookkeeping: tasks, fds, oracles. */
};

/**
 * Runs one scenario once and checks every oracle.
 *
 * @param scenario     borrowed for the call.
 * @param options      borrowed for the call; NULL: seed 0, no faults.
 * @param trace_out    optional: receives the run's kept records (the caller deinits it);
 *                     NULL to discard.
 * @param result_out   filled always.
 * @return 0 when the run passed, 1 when an oracle failed (see result_out), or a negative
 *         code when the run could not happen at all (-ENOMEM, -EINVAL).
 */
GALE_EXTERN int gale_scenario_run(const struct gale_scenario *scenario,
				  const struct gale_run_options *options,
				  struct gale_trace *trace_out, struct gale_run_result *result_out);

/**
 * Spawns a named task on run's runtime. The runner joins it (after the runtime turn in
 * which it finished, or at the end): a result other than 0 is oracle TASK (unless the task
 * was spawned with expect_error = true, in which case any result is accepted). Either way
 * the result is available through gale_scenario_task_result() once joined; do not join
 * such a task yourself (spawn with gale_executor_spawn() the tasks you join).
 *
 * @param name  static or outliving the run (it appears in failure messages).
 * @return 0 or -ENOMEM.
 */
GALE_EXTERN int gale_scenario_spawn(struct gale_scenario_run *run, const char *name,
				    gale_poll_fn *poll, void *data, bool expect_error,
				    struct gale_task_handle *handle_out);

/**
 * A task's result once the runner joined it (0 with *result_out set), or -ESRCH (not
 * spawned with gale_scenario_spawn() on this run) / -EAGAIN (not finished, or finished in
 * the current runtime turn: the runner joins after each turn; always joined in check).
 */
GALE_EXTERN int gale_scenario_task_result(const struct gale_scenario_run *run,
					  struct gale_task_handle handle, int *result_out);

/**
 * Records a failure (the first one of a run wins; later ones are ignored). The message
 * is printf-formatted; the runner appends the trace step and the current task's name.
 * oracle names a real oracle: GALE_ORACLE_NONE or a value past the last is asserted (no
 * error to return).
 */
GALE_EXTERN void gale_scenario_fail(struct gale_scenario_run *run, enum gale_oracle oracle,
				    const char *format, ...) GALE_PRINTF(3, 4);

/** True once a failure was recorded (tasks may stop early). */
GALE_EXTERN bool gale_scenario_has_failed(const struct gale_scenario_run *run);

/** The backend this run's I/O goes to. */
GALE_EXTERN enum gale_backend gale_scenario_backend(const struct gale_scenario_run *run);

/**
 * Counters of the run so far, on any backend. On SIM: gale_sim_stats_get(&run->sim) with
 * run->allocator's ALLOC_FAIL faults added. On a real backend the runner's driver counts
 * what it sees: time_ns (time since the run began, by the driver's clock), ops_count,
 * connections_count (connects that completed: connect() 0, or SO_ERROR 0 and a peer
 * address after -EINPROGRESS), connects_refused_count (-ECONNREFUSED from either),
 * fds_open_count, registrations_count, faults (the fault driver's, plus ALLOC_FAIL);
 * fields the kernel does not tell (segments, bytes in flight, resets received) are 0.
 */
GALE_EXTERN struct gale_sim_stats gale_scenario_stats(const struct gale_scenario_run *run);

/**
 * Adds the simulated host that owns ip (IPv4 or IPv6 text, no port) unless one does: on
 * SIM gale_sim_host_add(); on a real backend the next loopback address is assigned to it
 * (see enum gale_backend). Scenarios add hosts this way (or with <gale/scenario_net.h>),
 * never with gale_sim_host_add() directly, so they run on every backend.
 * @return 0, -EINVAL (not an address, or a wildcard), -ENOSPC (too many hosts).
 */
GALE_EXTERN int gale_scenario_host_add(struct gale_scenario_run *run, const char *ip);

/**
 * Gives ip (a host's address text, no port) the host name name in the run's resolver,
 * after the addresses name has already (the order answers keep unless a RESOLVE_SHUFFLE
 * fault reorders them). Scenario code then connects and binds by name (<gale/resolve.h>)
 * on every backend: names resolve to the simulated addresses, which the kernel backends
 * map to loopback as they map literals. Resolver faults (sim_resolve.h) are rolled on
 * SIM and FAULT_EPOLL and counted in gale_scenario_stats().
 * @return 0 (also when name has ip already); -EINVAL (a bad name or address); -ENOSPC.
 */
GALE_EXTERN int gale_scenario_name_add(struct gale_scenario_run *run, const char *name,
				       const char *ip);

/** The driver scenario code does I/O through (see the file comment). Borrowed from run. */
GALE_EXTERN struct gale_driver *gale_scenario_driver(struct gale_scenario_run *run);

/**
 * Puts an initialised duplex under the oracles: the STREAM oracle checks, byte for byte,
 * that each end reads exactly what the other end wrote, in order, and that the end of
 * stream is read only after every byte; the stall oracle sees the wakers it holds. Call it
 * before any byte moves. The duplex may be deinit'd any time (the runner is told).
 * @return 0, -EEXIST (observed already), -ENOMEM.
 */
GALE_EXTERN int gale_scenario_observe_duplex(struct gale_scenario_run *run,
					     struct gale_duplex *duplex);

/**
 * Declares what the stream written to fd must carry: every byte written to fd through
 * gale_scenario_driver(run) (write, writev, send) must equal bytes[offset] in order, and
 * no more than len bytes may be written; else oracle STREAM, at the write. Fewer is fine
 * (a connection may fail). The declaration ends when fd is closed.
 * @param bytes  copied. @return 0, -EBADF (fd not open through the runner's driver),
 *               -EEXIST (declared already), -ENOMEM.
 */
GALE_EXTERN int gale_scenario_stream_expect_fd(struct gale_scenario_run *run, int fd,
					       const void *bytes, size_t len);

/**
 * The same for what end (0 or 1) of an observed duplex writes (it is observed first if it
 * was not). @param bytes  copied. @return 0, -EINVAL (end is not 0 or 1), -EEXIST
 * (declared already), -ENOMEM.
 */
GALE_EXTERN int gale_scenario_stream_expect_duplex(struct gale_scenario_run *run,
						   struct gale_duplex *duplex, unsigned end,
						   const void *bytes, size_t len);

/**
 * The determinism self-check: runs the scenario twice with the same options, keeping the
 * trace records (options->trace_records_max, or 1 Mi records when it is 0), and compares
 * the trace hashes, the records and the outcomes.
 *
 * @param message  receives one line: the first differing record of each run, formatted
 *                 with gale_trace_record_format(), or what else differed (may be NULL
 *                 when len is 0).
 * @return 0 when both runs were identical, 1 when they differed, or a negative code from
 *         gale_scenario_run() (the run could not happen).
 */
GALE_EXTERN int gale_scenario_check_determinism(const struct gale_scenario *scenario,
						const struct gale_run_options *options,
						char *message, size_t len);

/** "lost_wakeup", ... */
GALE_EXTERN const char *gale_oracle_name(enum gale_oracle oracle);
/** One-line description of an oracle. */
GALE_EXTERN const char *gale_oracle_description(enum gale_oracle oracle);

GALE_END_DECLS

#endif /* GALE_SIM_SCENARIO_H */
