/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver's face (sim/, implementing io/'s driver seam): the ops table, whose
 * entries count and trace each call and then re-evaluate the fd's readiness; init and
 * checked deinit; wait() and virtual time; and the public helpers of sim.h (stats, leaks,
 * the stream oracle, the scheduling hook).
 *
 * Methodology: everything a run does is a function of the options and the entropy. Ops are
 * traced as (op, fd, length or argument, result), events as (token, bits), faults as
 * (kind, fd), scheduling choices as (index, count), all stamped with virtual time, so two
 * runs of one seed produce identical traces and a diverging one is found by
 * gale_trace_first_divergence(). Replay a failure with its seed (GALE_TEST_SEED=0x... in
 * the tests) and the same options.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdio.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/sim.h>

#include "sim_internal.h"

#define NS_PER_US INT64_C(1000)
#define SOCKET_BUF_SIZE_DEFAULT ((size_t)64 * 1024)
#define SOCKET_BUF_SIZE_MAX ((size_t)1 << 30)
#define FDS_MAX_DEFAULT 65536u
#define FDS_MAX_LIMIT (1u << 24)

static_assert(offsetof(struct gale_sim, base) == 0,
	      "a struct gale_driver * must point at the whole sim");

static const struct gale_driver_ops gale_sim_driver_ops;

/* ---- Shared helpers ------------------------------------------------------------------ */

struct gale_sim_state *gale__sim_state(struct gale_driver *driver)
{
	assert(driver != NULL);
	assert(driver->ops == &gale_sim_driver_ops);
	struct gale_sim_state *state = ((struct gale_sim *)driver)->priv_state;
	assert(state != NULL);
	return state;
}

void gale__sim_trace(struct gale_sim_state *state, enum gale_trace_kind kind, uint16_t op,
		     int fd, uint64_t a, int64_t result)
{
	if (state->options.trace == NULL)
		return;
	struct gale_trace_record record = {
		.time_ns = state->now_ns,
		.kind = (uint16_t)kind,
		.op = op,
		.fd = fd,
		.a = a,
		.result = result,
	};
	gale_trace_append(state->options.trace, record);
}

bool gale__sim_fault(struct gale_sim_state *state, enum gale_fault_kind kind, int fd)
{
	const struct gale_fault_profile *profile = state->options.profile;
	if (profile == NULL)
		return false;
	/* Linux's world: a short count is never made up, it is what the buffers allowed. */
	if (state->options.short_io_proves &&
	    (kind == GALE_FAULT_READ_SHORT || kind == GALE_FAULT_WRITE_PARTIAL))
		return false;
	if (!gale_fault_roll(profile, state->entropy, NULL, kind) ||
	    !gale_fault_filter_admit(state->options.fault_filter))
		return false;
	if ((unsigned)kind < GALE_FAULT_COUNT)
		state->stats.faults.injected[kind]++;
	gale__sim_trace(state, GALE_TRACE_FAULT, (uint16_t)kind, fd, 0, 0);
	return true;
}

int64_t gale__sim_range(struct gale_sim_state *state, int64_t min, int64_t max)
{
	assert(min >= 0 && min <= max);
	if (min == max)
		return min;
	return (int64_t)gale_entropy_range(state->entropy, (uint64_t)min, (uint64_t)max);
}

int64_t gale__sim_time_after(int64_t now_ns, int64_t delta_ns)
{
	assert(delta_ns >= 0);
	return now_ns > INT64_MAX - delta_ns ? INT64_MAX : now_ns + delta_ns;
}

/* Counts and traces one op, then re-evaluates fd's readiness: the op may have drained,
 * filled or consumed something (the re-arm), or made something true (an edge). */
static void op_done(struct gale_sim_state *state, enum gale_trace_op op, int fd, uint64_t a,
		    int64_t result)
{
	state->stats.ops_count++;
	gale__sim_trace(state, GALE_TRACE_OP, (uint16_t)op, fd, a, result);
	if (gale__sim_fd_get(state, fd) != NULL)
		gale__sim_fd_update(state, fd);
}

/* ---- Readiness ops ------------------------------------------------------------------- */

static int sim_fd_register(struct gale_driver *driver, int fd, uint64_t token,
			   uint32_t interest)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_fd_register(state, fd, token, interest);
	op_done(state, GALE_TRACE_OP_FD_REGISTER, fd, interest, rc);
	return rc;
}

static int sim_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
			     uint32_t interest)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_fd_reregister(state, fd, token, interest);
	op_done(state, GALE_TRACE_OP_FD_REREGISTER, fd, interest, rc);
	return rc;
}

static int sim_fd_deregister(struct gale_driver *driver, int fd)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_fd_deregister(state, fd);
	op_done(state, GALE_TRACE_OP_FD_DEREGISTER, fd, 0, rc);
	return rc;
}

/* Hands out what is ready, else moves time to the next event (bounded by the deadline)
 * and tries again. Spurious events are added last, so they never hide a stall. */
static int wait_run(struct gale_sim_state *state, struct gale_event *events, int events_cap,
		    int64_t timeout_ns)
{
	assert(events != NULL && events_cap > 0);
	assert(timeout_ns >= -1);
	int64_t deadline_ns = timeout_ns < 0 ? INT64_MAX
					     : gale__sim_time_after(state->now_ns, timeout_ns);
	gale__sim_clock_run_due(state);
	for (;;) {
		if (gale__sim_events_pending(state)) {
			int count = gale__sim_events_collect(state, events, events_cap);
			if (count > 0)
				return gale__sim_events_spurious(state, events, count, events_cap);
		}
		if (state->woken) {
			state->woken = false;
			break;
		}
		int64_t next_ns;
		bool has_next = gale__sim_clock_next(state, &next_ns);
		if (!has_next && timeout_ns < 0)
			return GALE_E_STALL; /* Nothing is ready and nothing ever will be. */
		if (!has_next || next_ns > deadline_ns) {
			state->now_ns = deadline_ns;
			break;
		}
		if (next_ns > state->now_ns)
			state->now_ns = next_ns;
		gale__sim_clock_run_due(state);
	}
	return gale__sim_events_spurious(state, events, 0, events_cap);
}

static int sim_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		    int64_t timeout_ns)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	state->stats.waits_count++;
	int rc = -EINVAL;
	if (events != NULL && events_cap > 0 && timeout_ns >= -1)
		rc = wait_run(state, events, events_cap, timeout_ns);
	state->stats.ops_count++;
	gale__sim_trace(state, GALE_TRACE_OP, GALE_TRACE_OP_WAIT, -1, (uint64_t)timeout_ns, rc);
	for (int i = 0; i < rc; i++) {
		gale__sim_trace(state, GALE_TRACE_EVENT, 0, -1, events[i].token, events[i].ready);
		state->stats.events_count++;
	}
	return rc;
}

static int sim_wake(struct gale_driver *driver)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	state->woken = true;
	op_done(state, GALE_TRACE_OP_WAKE, -1, 0, 0);
	return 0;
}

/* ---- Byte I/O ops -------------------------------------------------------------------- */

static ssize_t sim_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	ssize_t rc = gale__sim_op_readv(state, fd, &iov, 1, 0, false);
	op_done(state, GALE_TRACE_OP_READ, fd, len, rc);
	return rc;
}

static ssize_t sim_write(struct gale_driver *driver, int fd, const void *buf, size_t len)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	/* iovec is not const-correct; the write path only reads through it. */
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	ssize_t rc = gale__sim_op_writev(state, fd, &iov, 1, false);
	op_done(state, GALE_TRACE_OP_WRITE, fd, len, rc);
	return rc;
}

static ssize_t sim_readv(struct gale_driver *driver, int fd, const struct iovec *iov,
			 int iov_count)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	ssize_t rc = gale__sim_op_readv(state, fd, iov, iov_count, 0, false);
	op_done(state, GALE_TRACE_OP_READV, fd, (uint64_t)iov_count, rc);
	return rc;
}

static ssize_t sim_writev(struct gale_driver *driver, int fd, const struct iovec *iov,
			  int iov_count)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	ssize_t rc = gale__sim_op_writev(state, fd, iov, iov_count, false);
	op_done(state, GALE_TRACE_OP_WRITEV, fd, (uint64_t)iov_count, rc);
	return rc;
}

static ssize_t sim_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
			uint32_t flags)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	ssize_t rc = gale__sim_op_readv(state, fd, &iov, 1, flags, true);
	op_done(state, GALE_TRACE_OP_RECV, fd, len, rc);
	return rc;
}

static ssize_t sim_send(struct gale_driver *driver, int fd, const void *buf, size_t len,
			uint32_t flags)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	ssize_t rc = flags != 0 ? -EINVAL : gale__sim_op_writev(state, fd, &iov, 1, true);
	op_done(state, GALE_TRACE_OP_SEND, fd, len, rc);
	return rc;
}

/* ---- Socket ops ---------------------------------------------------------------------- */

static int sim_socket(struct gale_driver *driver, int domain, int type, int protocol)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_socket(state, domain, type, protocol);
	op_done(state, GALE_TRACE_OP_SOCKET, -1, (uint64_t)domain, rc);
	return rc;
}

static int sim_bind(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		    socklen_t addr_len)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_bind(state, fd, addr, addr_len);
	op_done(state, GALE_TRACE_OP_BIND, fd, addr_len, rc);
	return rc;
}

static int sim_listen(struct gale_driver *driver, int fd, int backlog)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_listen(state, fd, backlog);
	op_done(state, GALE_TRACE_OP_LISTEN, fd, (uint64_t)backlog, rc);
	return rc;
}

static int sim_accept(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
		      socklen_t *addr_len_out)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	assert((addr_out == NULL) == (addr_len_out == NULL));
	int rc = gale__sim_op_accept(state, fd, addr_out, addr_len_out);
	op_done(state, GALE_TRACE_OP_ACCEPT, fd, 0, rc);
	return rc;
}

static int sim_connect(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		       socklen_t addr_len)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_connect(state, fd, addr, addr_len);
	op_done(state, GALE_TRACE_OP_CONNECT, fd, addr_len, rc);
	return rc;
}

static int sim_socket_error_take(struct gale_driver *driver, int fd)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_socket_error_take(state, fd);
	op_done(state, GALE_TRACE_OP_SOCKET_ERROR_TAKE, fd, 0, rc);
	return rc;
}

static int sim_sockopt_set(struct gale_driver *driver, int fd, enum gale_sockopt opt,
			   int value)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_sockopt_set(state, fd, opt, value);
	op_done(state, GALE_TRACE_OP_SOCKOPT_SET, fd, (uint64_t)opt, rc);
	return rc;
}

static int sim_sockopt_get(struct gale_driver *driver, int fd, enum gale_sockopt opt,
			   int *value_out)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_sockopt_get(state, fd, opt, value_out);
	op_done(state, GALE_TRACE_OP_SOCKOPT_GET, fd, (uint64_t)opt, rc);
	return rc;
}

static int sim_addr_local(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			  socklen_t *addr_len_out)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_addr_local(state, fd, addr_out, addr_len_out);
	op_done(state, GALE_TRACE_OP_ADDR_LOCAL, fd, 0, rc);
	return rc;
}

static int sim_addr_peer(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			 socklen_t *addr_len_out)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_addr_peer(state, fd, addr_out, addr_len_out);
	op_done(state, GALE_TRACE_OP_ADDR_PEER, fd, 0, rc);
	return rc;
}

static int sim_shutdown(struct gale_driver *driver, int fd, int how)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_shutdown(state, fd, how);
	op_done(state, GALE_TRACE_OP_SHUTDOWN, fd, (uint64_t)how, rc);
	return rc;
}

static int sim_close(struct gale_driver *driver, int fd)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_close(state, fd);
	op_done(state, GALE_TRACE_OP_CLOSE, fd, 0, rc);
	return rc;
}

static int sim_socketpair(struct gale_driver *driver, int fds_out[2])
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_socketpair(state, fds_out);
	op_done(state, GALE_TRACE_OP_SOCKETPAIR, rc == 0 ? fds_out[0] : -1, 0, rc);
	return rc;
}

static int sim_pipe(struct gale_driver *driver, int fds_out[2])
{
	struct gale_sim_state *state = gale__sim_state(driver);
	int rc = gale__sim_op_pipe(state, fds_out);
	op_done(state, GALE_TRACE_OP_PIPE, rc == 0 ? fds_out[0] : -1, 0, rc);
	return rc;
}

static int sim_fd_nonblocking_set(struct gale_driver *driver, int fd)
{
	struct gale_sim_state *state = gale__sim_state(driver);
	/* Every virtual fd is non-blocking already; anything else is not the sim's. */
	int rc = gale__sim_fd_get(state, fd) != NULL ? 0 : -EBADF;
	op_done(state, GALE_TRACE_OP_FD_NONBLOCKING_SET, fd, 0, rc);
	return rc;
}

static int64_t sim_now_ns(struct gale_driver *driver)
{
	return gale__sim_state(driver)->now_ns;
}

/* ---- Lifecycle ----------------------------------------------------------------------- */

static void state_free(struct gale_sim_state *state)
{
	gale__sim_conns_deinit(state);
	gale__sim_fds_deinit(state);
	gale__sim_ready_deinit(state);
	gale__sim_clock_deinit(state);
	gale__sim_ports_deinit(state);
	free(state);
}

/* The promises of Linux's world (sim.h, short_io_proves), or none. */
static uint32_t sim_caps(struct gale_driver *driver)
{
	if (!gale__sim_state(driver)->options.short_io_proves)
		return 0;
	return GALE_DRIVER_CAP_READ_SHORT_DRAINED | GALE_DRIVER_CAP_WRITE_SHORT_FULL;
}

static void sim_base_deinit(struct gale_driver *driver)
{
	struct gale_sim *sim = (struct gale_sim *)driver;
	assert(driver->ops == &gale_sim_driver_ops);
	/* The op cannot report leaks: it releases everything (gale_sim_deinit checks). */
	state_free(sim->priv_state);
	sim->priv_state = NULL;
	sim->base.ops = NULL;
}

/* Op <op> is sim_<op>: generated from the op list, so none is left out. */
static const struct gale_driver_ops gale_sim_driver_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "sim",
#define OPS_ENTRY(op, ...) .op = sim_##op,
	GALE_DRIVER_OP_MAP(OPS_ENTRY, GALE_DRIVER_OP_MAP_SKIP)
#undef OPS_ENTRY
	.now_ns = sim_now_ns,
	.deinit = sim_base_deinit,
	.caps = sim_caps,
};

struct gale_sim_options gale_sim_options_default(void)
{
	struct gale_sim_options options = {
		.seed = 0,
		.profile = NULL,
		.entropy = NULL,
		.trace = NULL,
		.latency_ns_min = 50 * NS_PER_US,
		.latency_ns_max = 500 * NS_PER_US,
		.bandwidth_bytes_per_s = 0,
		.socket_buf_size = SOCKET_BUF_SIZE_DEFAULT,
		.pair_latency_ns = 0,
		.fds_max = FDS_MAX_DEFAULT,
		.time_start_ns = 0,
	};
	return options;
}

static bool options_are_valid(const struct gale_sim_options *options)
{
	return options->latency_ns_min >= 0 &&
	       options->latency_ns_min <= options->latency_ns_max &&
	       options->socket_buf_size > 0 && options->socket_buf_size <= SOCKET_BUF_SIZE_MAX &&
	       options->fds_max > 0 && options->fds_max <= FDS_MAX_LIMIT &&
	       options->pair_latency_ns >= 0;
}

int gale_sim_init(struct gale_sim *sim, const struct gale_sim_options *options)
{
	assert(sim != NULL);
	sim->base.ops = NULL;
	sim->priv_state = NULL;
	struct gale_sim_options resolved = options != NULL ? *options : gale_sim_options_default();
	if (!options_are_valid(&resolved))
		return -EINVAL;
	struct gale_sim_state *state = calloc(1, sizeof(*state));
	if (state == NULL)
		return -ENOMEM;
	state->options = resolved;
	state->entropy = resolved.entropy;
	if (state->entropy == NULL) {
		gale_entropy_init_seed(&state->entropy_own, resolved.seed);
		state->entropy = &state->entropy_own;
	}
	state->now_ns = resolved.time_start_ns;
	(void)gale__sim_conns_init(state);
	(void)gale__sim_ready_init(state);
	gale__sim_hosts_init(state);
	if (gale__sim_fds_init(state) < 0) {
		state_free(state);
		return -ENOMEM;
	}
	sim->priv_state = state;
	sim->base.ops = &gale_sim_driver_ops;
	return 0;
}

int gale_sim_deinit(struct gale_sim *sim)
{
	assert(sim != NULL);
	if (sim->base.ops == NULL || sim->priv_state == NULL)
		return 0;
	assert(sim->base.ops == &gale_sim_driver_ops);
	struct gale_sim_state *state = sim->priv_state;
	if (state->fds_open_count > 0 || state->registered_len > 0)
		return -EBUSY;
	state_free(state);
	sim->priv_state = NULL;
	sim->base.ops = NULL;
	return 0;
}

/* ---- Public helpers ------------------------------------------------------------------ */

static struct gale_sim_state *sim_state(const struct gale_sim *sim)
{
	assert(sim != NULL);
	assert(sim->base.ops == &gale_sim_driver_ops && sim->priv_state != NULL);
	return sim->priv_state;
}

int gale_sim_host_add(struct gale_sim *sim, const char *address_text, uint32_t *host_id_out)
{
	assert(address_text != NULL);
	return gale__sim_host_add(sim_state(sim), address_text, host_id_out);
}

struct gale_sim_stats gale_sim_stats_get(const struct gale_sim *sim)
{
	const struct gale_sim_state *state = sim_state(sim);
	struct gale_sim_stats stats = state->stats;
	stats.time_ns = state->now_ns;
	stats.fds_open_count = state->fds_open_count;
	stats.registrations_count = state->registered_len;
	return stats;
}

uint32_t gale_sim_leaks(const struct gale_sim *sim, struct gale_sim_leaks *report_out)
{
	const struct gale_sim_state *state = sim_state(sim);
	assert(report_out != NULL);
	*report_out = (struct gale_sim_leaks){
		.fds_open_count = state->fds_open_count,
		.registrations_count = state->registered_len,
	};
	for (uint32_t slot = 0; slot < state->fds_high; slot++) {
		if (report_out->fds_len == GALE_SIM_LEAKS_FDS_MAX)
			break;
		if (gale__sim_fd_slot(state, slot) != NULL)
			report_out->fds[report_out->fds_len++] = gale__sim_fd_number(slot);
	}
	for (uint32_t i = report_out->fds_len; i < GALE_SIM_LEAKS_FDS_MAX; i++)
		report_out->fds[i] = -1;
	return state->fds_open_count + state->registered_len;
}

static const char *fd_kind_text(const struct sim_fd *fd)
{
	static const char *const tcp_states[] = {
		[SIM_TCP_NEW] = "tcp new",	   [SIM_TCP_BOUND] = "tcp bound",
		[SIM_TCP_LISTENING] = "tcp listening", [SIM_TCP_CONNECTING] = "tcp connecting",
		[SIM_TCP_CONNECTED] = "tcp connected", [SIM_TCP_FAILED] = "tcp failed",
	};
	switch (fd->kind) {
	case SIM_FD_TCP:
		return tcp_states[fd->tcp_state];
	case SIM_FD_UNIX:
		return "socketpair";
	case SIM_FD_PIPE_READ:
		return "pipe read end";
	default:
		return "pipe write end";
	}
}

int gale_sim_fd_describe(const struct gale_sim *sim, int fd, char *buf, size_t buf_len)
{
	const struct gale_sim_state *state = sim_state(sim);
	assert(buf != NULL || buf_len == 0);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return snprintf(buf, buf_len, "fd %d not open", fd);
	char local[64] = "";
	char peer[64] = "";
	const struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	if (entry->kind == SIM_FD_TCP) {
		(void)gale__sim_addr_text(state, &entry->local, local, sizeof(local));
		if (conn != NULL)
			(void)gale__sim_addr_text(state, &conn->ends[1 - entry->side].addr, peer,
						  sizeof(peer));
	}
	return snprintf(buf, buf_len, "fd %d %s%s%s%s%s%s", fd, fd_kind_text(entry),
			local[0] != '\0' ? " " : "", local, peer[0] != '\0' ? " -> " : "", peer,
			entry->reg.serial != 0 ? " registered" : "");
}

int gale_sim_check_streams(const struct gale_sim *sim, char *message_buf, size_t message_len)
{
	const struct gale_sim_state *state = sim_state(sim);
	assert(message_buf != NULL || message_len == 0);
	static const char *const what[] = {
		[GALE_SIM_CHECK_OK] = "ok",
		[GALE_SIM_CHECK_STREAM_CORRUPT] = "bytes read differ from the bytes written",
		[GALE_SIM_CHECK_STREAM_EXCESS] = "more bytes read than written",
		[GALE_SIM_CHECK_STREAM_LOST] = "end of stream read before every byte written",
	};
	const struct sim_failure *failure = &state->failure;
	if (message_len > 0 && failure->code == GALE_SIM_CHECK_OK)
		(void)snprintf(message_buf, message_len, "streams ok");
	else if (message_len > 0)
		(void)snprintf(message_buf, message_len,
			       "stream #%llu (writer fd %d -> reader fd %d): %s, after %llu bytes "
			       "read of %llu written",
			       (unsigned long long)failure->conn_id, failure->fd_writer,
			       failure->fd_reader, what[failure->code],
			       (unsigned long long)failure->offset,
			       (unsigned long long)failure->written);
	return failure->code;
}

uint32_t gale_sim_schedule(void *data, uint32_t runnable_count)
{
	struct gale_sim_state *state = sim_state(data);
	assert(runnable_count > 0);
	uint32_t index = 0;
	/* Mostly FIFO, sometimes any: explores interleavings without starving the oldest. */
	if (runnable_count > 1 &&
	    gale_entropy_chance(state->entropy, (struct gale_ratio){1, 4}))
		index = (uint32_t)gale_entropy_range(state->entropy, 0, runnable_count - 1);
	gale__sim_trace(state, GALE_TRACE_SCHEDULE, 0, -1, index, runnable_count);
	return index;
}

struct gale_entropy *gale_sim_entropy(struct gale_sim *sim)
{
	return sim_state(sim)->entropy;
}
