/* SPDX-License-Identifier: MIT */
/*
 * The runner's pass-through driver: the runtime (and scenario code, through
 * gale_scenario_driver()) uses it instead of the backend's driver (the sim, epoll, or the
 * fault driver over epoll). Every op goes to that driver (the ops not written here through
 * the forwarding base of driver.h), and on the way the runner keeps, per fd, the last
 * result of each direction (the readiness oracle needs it when the reactor reports a
 * clear), who opened it, what was declared about its bytes, and which task touched it last
 * (stall messages). On a real backend it also rewrites addresses (scenario_addr.c), feeds
 * the stream oracle (scenario_streams.c) and counts connects. It adds nothing to the
 * trace: the sim (or the fault driver) records what it does itself.
 *
 * Sections: fd records; the readiness oracle; stream declarations; the ops; lifecycle.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/sim.h>

#include "scenario_internal.h"

/* ---- Fd records ------------------------------------------------------------------------------ */

static struct gale_scenario_state *driver_state(struct gale_driver *driver)
{
	struct scenario_driver *self = (struct scenario_driver *)driver;
	assert(self != NULL && self->state != NULL);
	return self->state;
}

static struct gale_driver *driver_inner(const struct gale_scenario_state *state)
{
	assert(state != NULL && state->inner != NULL);
	return state->inner;
}

/* The record slot of an fd (open or not), or NULL when fd is below the backend's first fd
 * or beyond the table. */
static struct scenario_fd *fd_slot(struct gale_scenario_state *state, int fd)
{
	assert(state != NULL);
	if (fd < state->fd_base)
		return NULL;
	uint32_t index = (uint32_t)(fd - state->fd_base);
	return index < state->fds_cap ? &state->fds[index] : NULL;
}

struct scenario_fd *gale__scenario_fd_get(struct gale_scenario_state *state, int fd)
{
	struct scenario_fd *record = fd_slot(state, fd);
	return record != NULL && record->open ? record : NULL;
}

/* Remembers that the task being polled touched fd (for stall and leak messages). */
static void fd_touched(struct gale_scenario_state *state, int fd)
{
	assert(state != NULL);
	if (fd < 0 || !state->runtime_ready)
		return;
	struct scenario_task *task = gale__scenario_task_current(state);
	if (task == NULL || task->fds[0] == fd)
		return;
	int carried = fd;
	for (int i = 0; i < SCENARIO_TASK_FDS_MAX && carried != -1; i++) {
		int held = task->fds[i];
		task->fds[i] = carried;
		carried = held == fd ? -1 : held;
	}
}

static bool fds_reserve(struct gale_scenario_state *state, uint32_t index)
{
	assert(state != NULL);
	if (index < state->fds_cap)
		return true;
	uint32_t cap = state->fds_cap == 0 ? 64 : state->fds_cap;
	while (cap <= index)
		cap *= 2;
	struct scenario_fd *fds = realloc(state->fds, cap * sizeof(*fds));
	if (fds == NULL)
		return false;
	memset(fds + state->fds_cap, 0, (cap - state->fds_cap) * sizeof(*fds));
	state->fds = fds;
	state->fds_cap = cap;
	return true;
}

/* A new fd came out of socket, accept, socketpair or pipe. */
static void fd_opened(struct gale_scenario_state *state, int fd, const char *kind)
{
	assert(state != NULL);
	if (fd < state->fd_base)
		return;
	uint32_t index = (uint32_t)(fd - state->fd_base);
	if (!fds_reserve(state, index)) {
		gale__scenario_failf(state, GALE_ORACLE_SETUP, "the runner ran out of memory");
		return;
	}
	struct scenario_fd *record = &state->fds[index];
	gale__scenario_expect_free(record->expect);
	*record = (struct scenario_fd){
		.open = true,
		.kind = kind,
		.read_last = SCENARIO_RESULT_NONE,
		.write_last = SCENARIO_RESULT_NONE,
	};
	struct scenario_task *task = state->runtime_ready ? gale__scenario_task_current(state)
							  : NULL;
	if (task != NULL)
		record->opener = (uint32_t)(task - state->tasks) + 1;
	fd_touched(state, fd);
}

static void fd_closed(struct gale_scenario_state *state, int fd)
{
	struct scenario_fd *record = fd_slot(state, fd);
	if (record == NULL)
		return;
	if (gale__scenario_is_real(state)) {
		gale__scenario_streams_closed(state, fd);
		gale__scenario_addr_closed(&state->addrs, fd);
	}
	gale__scenario_expect_free(record->expect);
	*record = (struct scenario_fd){0};
}

/* A read-direction op (read, readv, recv, accept) returned result. */
static void fd_read_done(struct gale_scenario_state *state, int fd, int64_t result)
{
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record != NULL) {
		record->read_last = result;
		record->read_short = false;
	}
	fd_touched(state, fd);
}

/* True when a byte op moved some of iov's bytes, not all: a short count. */
static bool count_is_short(const struct iovec *iov, int iov_count, int64_t result)
{
	assert(iov != NULL || iov_count == 0);
	if (result <= 0)
		return false;
	uint64_t len = 0;
	for (int i = 0; i < iov_count; i++)
		len += iov[i].iov_len;
	return (uint64_t)result < len;
}

/* A byte read (read, readv, recv without PEEK) returned result into iov. */
static void fd_bytes_read(struct gale_scenario_state *state, int fd, const struct iovec *iov,
			  int iov_count, int64_t result)
{
	fd_read_done(state, fd, result);
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record != NULL)
		record->read_short = count_is_short(iov, iov_count, result);
	if (gale__scenario_is_real(state))
		gale__scenario_streams_read(state, fd, iov, iov_count, result);
}

void gale__scenario_fd_describe(struct gale_scenario_state *state, int fd, char *buf,
				size_t len)
{
	assert(state != NULL && buf != NULL);
	if (state->backend == GALE_BACKEND_SIM) {
		(void)gale_sim_fd_describe(&state->run->sim, fd, buf, len);
		return;
	}
	const struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	(void)snprintf(buf, len, "fd %d %s", fd,
		       record != NULL && record->kind != NULL ? record->kind : "(unknown)");
}

/* A connecting socket's ways of saying "not yet": what may precede a WRITE clear. */
static bool write_is_blocked(int64_t result)
{
	return result == -EAGAIN || result == -EINPROGRESS || result == -EALREADY ||
	       result == -ENOTCONN;
}

/* ---- The readiness oracle -------------------------------------------------------------------- */

/* "returned 3", "returned -11 EAGAIN" or "was never made". */
static void result_text(int64_t result, char *buf, size_t len)
{
	assert(buf != NULL && len > 0);
	if (result == SCENARIO_RESULT_NONE)
		(void)snprintf(buf, len, "was never made");
	else if (result < 0)
		(void)snprintf(buf, len, "returned %lld %s", (long long)result,
			       gale_error_name((int)result));
	else
		(void)snprintf(buf, len, "returned %lld", (long long)result);
}

void gale__scenario_ready_cleared(void *data, uint64_t token, int fd, uint32_t ready_bits)
{
	struct gale_scenario_state *state = data;
	assert(state != NULL);
	assert((ready_bits & ~(uint32_t)GALE_READY_INTEREST_ALL) == 0 && ready_bits != 0);
	gale__scenario_side(state, GALE_TRACE_CLEAR, 0, fd, token, ready_bits);
	const struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record == NULL)
		return; /* Not opened through the runner's driver: nothing to judge by. */
	/* A short count proves the direction drained (or full) exactly when the driver the
	 * reactor uses vouches for it (driver.h, GALE_DRIVER_CAP_*). */
	uint32_t caps = gale_driver_caps(&state->driver.base);
	bool read_ok = record->read_last == -EAGAIN ||
		       (record->read_short && (caps & GALE_DRIVER_CAP_READ_SHORT_DRAINED) != 0);
	bool write_ok = write_is_blocked(record->write_last) ||
			(record->write_short && (caps & GALE_DRIVER_CAP_WRITE_SHORT_FULL) != 0);
	bool reads = (ready_bits & GALE_READY_READ) != 0;
	bool writes = (ready_bits & GALE_READY_WRITE) != 0;
	/* One clear for both directions (a READ|WRITE guard): one of them blocking is the
	 * operation the guard was for. */
	if ((reads && writes) ? (read_ok || write_ok) : reads ? read_ok : write_ok)
		return;
	bool as_read = reads && !read_ok;
	char described[128];
	char last[64];
	gale__scenario_fd_describe(state, fd, described, sizeof(described));
	result_text(as_read ? record->read_last : record->write_last, last, sizeof(last));
	gale__scenario_failf(state, GALE_ORACLE_READINESS,
			     "%s readiness of %s cleared, but the last %s on it %s: readiness may "
			     "be cleared only after the operation reported -EAGAIN, or after a "
			     "short count where the driver vouches that it proves the fd drained "
			     "(or full), which %s does not (else no new edge will come)",
			     as_read ? "READ" : "WRITE", described, as_read ? "read" : "write",
			     last, gale_driver_name(&state->driver.base));
}

/* ---- Stream declarations --------------------------------------------------------------------- */

struct scenario_expect *gale__scenario_expect_new(const void *bytes, size_t len)
{
	assert(bytes != NULL || len == 0);
	struct scenario_expect *expect = calloc(1, sizeof(*expect));
	if (expect == NULL)
		return NULL;
	expect->bytes = malloc(len > 0 ? len : 1);
	if (expect->bytes == NULL) {
		free(expect);
		return NULL;
	}
	if (len > 0)
		memcpy(expect->bytes, bytes, len);
	expect->len = len;
	return expect;
}

void gale__scenario_expect_free(struct scenario_expect *expect)
{
	if (expect == NULL)
		return;
	free(expect->bytes);
	free(expect);
}

void gale__scenario_expect_check(struct gale_scenario_state *state, struct scenario_expect *expect,
				 const char *what, const uint8_t *bytes, size_t len)
{
	assert(state != NULL && expect != NULL);
	assert(what != NULL && (bytes != NULL || len == 0));
	size_t offset = expect->offset;
	if (len > expect->len - offset) {
		gale__scenario_failf(state, GALE_ORACLE_STREAM,
				     "%s: %zu bytes written, more than the %zu declared (bytes "
				     "written twice?)", what, offset + len, expect->len);
		expect->offset = expect->len;
		return;
	}
	if (memcmp(bytes, expect->bytes + offset, len) == 0) {
		expect->offset = offset + len;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] == expect->bytes[offset + i])
			continue;
		gale__scenario_failf(state, GALE_ORACLE_STREAM,
				     "%s: byte %zu written is 0x%02x where the declared stream has "
				     "0x%02x (bytes written twice or skipped: a write cursor bug?)",
				     what, offset + i, bytes[i], expect->bytes[offset + i]);
		break;
	}
	expect->offset = offset + len;
}

/* A write-direction op wrote result bytes (or failed) from iov. */
static void fd_write_done(struct gale_scenario_state *state, int fd, const struct iovec *iov,
			  int iov_count, int64_t result)
{
	assert(iov != NULL || iov_count == 0);
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	fd_touched(state, fd);
	if (record == NULL)
		return;
	record->write_last = result;
	record->write_short = count_is_short(iov, iov_count, result);
	if (gale__scenario_is_real(state))
		gale__scenario_streams_wrote(state, fd, iov, iov_count, result);
	if (record->expect == NULL || result <= 0)
		return;
	char what[32];
	(void)snprintf(what, sizeof(what), "fd %d", fd);
	size_t left = (size_t)result;
	for (int i = 0; i < iov_count && left > 0; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
		gale__scenario_expect_check(state, record->expect, what, iov[i].iov_base, n);
		left -= n;
	}
}

int gale_scenario_stream_expect_fd(struct gale_scenario_run *run, int fd, const void *bytes,
				   size_t len)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(bytes != NULL || len == 0);
	struct scenario_fd *record = gale__scenario_fd_get(run->priv_state, fd);
	if (record == NULL)
		return -EBADF;
	if (record->expect != NULL)
		return -EEXIST;
	record->expect = gale__scenario_expect_new(bytes, len);
	return record->expect != NULL ? 0 : -ENOMEM;
}

/* ---- Registrations seen (so a failed run can still release its runtime) ---------------------- */

static void tokens_add(struct gale_scenario_state *state, int fd, uint64_t token)
{
	assert(state != NULL);
	if (state->tokens_len == state->tokens_cap) {
		uint32_t cap = state->tokens_cap == 0 ? 16 : state->tokens_cap * 2;
		uint64_t *tokens = realloc(state->tokens, cap * 2 * sizeof(*tokens));
		if (tokens == NULL) {
			gale__scenario_failf(state, GALE_ORACLE_SETUP,
					     "the runner ran out of memory");
			return;
		}
		state->tokens = tokens;
		state->tokens_cap = cap;
	}
	/* Pairs (token, fd) flattened: [2i] token, [2i + 1] fd. */
	state->tokens[2 * state->tokens_len] = token;
	state->tokens[2 * state->tokens_len + 1] = (uint64_t)(uint32_t)fd;
	state->tokens_len++;
}

/* Forgets the newest registration of fd (the driver's deregister knows only the fd). */
static void tokens_remove_fd(struct gale_scenario_state *state, int fd)
{
	assert(state != NULL);
	for (uint32_t i = state->tokens_len; i-- > 0;) {
		if (state->tokens[2 * i + 1] != (uint64_t)(uint32_t)fd)
			continue;
		state->tokens_len--;
		state->tokens[2 * i] = state->tokens[2 * state->tokens_len];
		state->tokens[2 * i + 1] = state->tokens[2 * state->tokens_len + 1];
		return;
	}
}

/* ---- The per-poll budget --------------------------------------------------------------------- */

/*
 * Driver ops one task poll may make before it counts as a busy loop: far above any real
 * poll (moving 64 KiB one byte at a time under READ_SHORT takes 65,536 reads), and reached
 * in a fraction of a second of wall time.
 */
#define POLL_OPS_MAX 1000000

/*
 * Counts an op of the task being polled. A poll that passes POLL_OPS_MAX (a task looping
 * inside one poll: retrying on -EAGAIN instead of returning pending) fails the run with the
 * LIMIT oracle, naming the task (the failure adds it) and the op it repeats; from then on
 * every op fails with GALE_E_LIMIT, so the loop's error path ends it and the run stops.
 * Returns 0, or GALE_E_LIMIT for an op that must not run.
 */
static int poll_budget_spend(struct gale_scenario_state *state, const char *op, int fd)
{
	state->ops_count++;
	if (state->poll_ops_blown)
		return GALE_E_LIMIT;
	if (!state->runtime_ready)
		return 0;
	struct gale_executor *executor = &state->run->runtime.executor;
	if (gale_executor_current(executor).id == 0)
		return 0; /* Outside task polls: setup, teardown, the runtime's own calls. */
	uint64_t polls = gale_executor_stats_get(executor).polls_count;
	if (polls != state->poll_ops_at) {
		state->poll_ops_at = polls;
		state->poll_ops_count = 0;
	}
	if (++state->poll_ops_count <= POLL_OPS_MAX)
		return 0;
	state->poll_ops_blown = true;
	gale__scenario_failf(state, GALE_ORACLE_LIMIT,
			     "one poll made %d driver ops without returning (the last: %s on fd "
			     "%d): a busy loop inside a poll; return GALE_PENDING instead of "
			     "retrying",
			     POLL_OPS_MAX, op, fd);
	return GALE_E_LIMIT;
}

/* ---- The ops --------------------------------------------------------------------------------- */

/*
 * The forwarding base's hook: the ops this file does not write (fd_reregister, listen,
 * sockopt_*, shutdown, fd_nonblocking_set) spend the poll's budget and mark their fd
 * touched on the way to the backend. wake (another thread may call it) and now_ns (the
 * runtime asks it between polls) pass straight through.
 */
static int sd_before(struct gale_driver_forward *forward, enum gale_driver_op op, int fd)
{
	struct gale_scenario_state *state = driver_state(&forward->base);
	int budget = poll_budget_spend(state, gale_driver_op_name(op), fd);
	if (budget != 0)
		return budget;
	fd_touched(state, fd);
	return 0;
}

static int sd_fd_register(struct gale_driver *driver, int fd, uint64_t token, uint32_t interest)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "fd_register", fd);
	if (budget != 0)
		return budget;
	int rc = gale_driver_fd_register(driver_inner(state), fd, token, interest);
	if (rc == 0) {
		tokens_add(state, fd, token);
		gale__scenario_side(state, GALE_TRACE_REGISTER, 0, fd, token, 0);
	}
	fd_touched(state, fd);
	return rc;
}

static int sd_fd_deregister(struct gale_driver *driver, int fd)
{
	struct gale_scenario_state *state = driver_state(driver);
	/* The reactor drops its registration whatever the driver says. */
	tokens_remove_fd(state, fd);
	fd_touched(state, fd);
	return gale_driver_fd_deregister(driver_inner(state), fd);
}

/*
 * The runtime waits with no task left only for timers that were dropped while armed (a
 * sleep never deinit'd): no one can observe them, so the clock does not run for them and
 * they stay armed for the leak oracle to report.
 */
static int sd_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		   int64_t timeout_ns)
{
	struct gale_scenario_state *state = driver_state(driver);
	assert(events != NULL || events_cap == 0);
	if (state->runtime_ready && gale_executor_live_count(&state->run->runtime.executor) == 0)
		return 0;
	return gale_driver_wait(driver_inner(state), events, events_cap, timeout_ns);
}

static ssize_t sd_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "read", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_read(driver_inner(state), fd, buf, len);
	struct iovec iov = {buf, len};
	fd_bytes_read(state, fd, &iov, 1, n);
	return n;
}

static ssize_t sd_write(struct gale_driver *driver, int fd, const void *buf, size_t len)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "write", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_write(driver_inner(state), fd, buf, len);
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	fd_write_done(state, fd, &iov, 1, n);
	return n;
}

static ssize_t sd_readv(struct gale_driver *driver, int fd, const struct iovec *iov,
			int iov_count)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "readv", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_readv(driver_inner(state), fd, iov, iov_count);
	fd_bytes_read(state, fd, iov, iov_count, n);
	return n;
}

static ssize_t sd_writev(struct gale_driver *driver, int fd, const struct iovec *iov,
			 int iov_count)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "writev", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_writev(driver_inner(state), fd, iov, iov_count);
	fd_write_done(state, fd, iov, iov_count, n);
	return n;
}

static ssize_t sd_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
		       uint32_t flags)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "recv", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_recv(driver_inner(state), fd, buf, len, flags);
	struct iovec iov = {buf, len};
	if (flags & GALE_RECV_PEEK)
		fd_read_done(state, fd, n); /* Nothing consumed: the stream did not move. */
	else
		fd_bytes_read(state, fd, &iov, 1, n);
	return n;
}

static ssize_t sd_send(struct gale_driver *driver, int fd, const void *buf, size_t len,
		       uint32_t flags)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "send", fd);
	if (budget != 0)
		return budget;
	ssize_t n = gale_driver_send(driver_inner(state), fd, buf, len, flags);
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	fd_write_done(state, fd, &iov, 1, n);
	return n;
}

static int sd_socket(struct gale_driver *driver, int domain, int type, int protocol)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "socket", -1);
	if (budget != 0)
		return budget;
	int fd = gale_driver_socket(driver_inner(state), domain, type, protocol);
	if (fd >= 0)
		fd_opened(state, fd, "socket");
	return fd;
}

static int sd_bind(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		   socklen_t addr_len)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "bind", fd);
	if (budget != 0)
		return budget;
	fd_touched(state, fd);
	if (!gale__scenario_is_real(state))
		return gale_driver_bind(driver_inner(state), fd, addr, addr_len);
	struct sockaddr_storage real;
	socklen_t real_len;
	int rc = gale__scenario_addr_to_real(&state->addrs, addr, addr_len, true, &real, &real_len);
	if (rc == 0)
		rc = gale_driver_bind(driver_inner(state), fd, (struct sockaddr *)&real, real_len);
	if (rc == 0) {
		/* The port the kernel gave, so connects to the scenario's port find it. */
		real_len = sizeof(real);
		rc = gale_driver_addr_local(driver_inner(state), fd, &real, &real_len);
		if (rc == 0 && !gale__scenario_addr_bound(&state->addrs, fd, addr, &real))
			rc = -ENOMEM;
	}
	return rc;
}

static int sd_accept(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
		     socklen_t *addr_len_out)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "accept", fd);
	if (budget != 0)
		return budget;
	if (!gale__scenario_is_real(state)) {
		int accepted = gale_driver_accept(driver_inner(state), fd, addr_out, addr_len_out);
		fd_read_done(state, fd, accepted);
		if (accepted >= 0)
			fd_opened(state, accepted, "accepted socket");
		return accepted;
	}
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);
	int accepted = gale_driver_accept(driver_inner(state), fd, &peer, &peer_len);
	fd_read_done(state, fd, accepted);
	if (accepted < 0)
		return accepted;
	fd_opened(state, accepted, "accepted socket");
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	if (gale_driver_addr_local(driver_inner(state), accepted, &local, &local_len) == 0)
		gale__scenario_streams_accepted(state, accepted, &local, &peer);
	if (addr_out != NULL) {
		gale__scenario_addr_to_sim(&state->addrs, &peer);
		socklen_t cap = addr_len_out != NULL ? *addr_len_out : (socklen_t)sizeof(*addr_out);
		memcpy(addr_out, &peer, cap < peer_len ? cap : peer_len);
	}
	if (addr_len_out != NULL)
		*addr_len_out = peer_len;
	return accepted;
}

static int sd_connect(struct gale_driver *driver, int fd, const struct sockaddr *addr,
		      socklen_t addr_len)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "connect", fd);
	if (budget != 0)
		return budget;
	bool real = gale__scenario_is_real(state);
	struct sockaddr_storage remote;
	socklen_t remote_len = addr_len;
	int rc = 0;
	if (real)
		rc = gale__scenario_addr_to_real(&state->addrs, addr, addr_len, false, &remote,
						 &remote_len);
	if (rc == 0)
		rc = gale_driver_connect(driver_inner(state), fd,
					 real ? (struct sockaddr *)&remote : addr,
					 real ? remote_len : addr_len);
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record != NULL) {
		record->write_last = rc;
		record->connecting = rc == -EINPROGRESS;
	}
	state->connections_count += rc == 0;
	state->connects_refused_count += rc == -ECONNREFUSED;
	if (real && (rc == 0 || rc == -EINPROGRESS)) {
		struct sockaddr_storage local;
		socklen_t local_len = sizeof(local);
		if (gale_driver_addr_local(driver_inner(state), fd, &local, &local_len) == 0)
			gale__scenario_streams_connecting(state, fd, &local, &remote);
	}
	fd_touched(state, fd);
	return rc;
}

static int sd_socket_error_take(struct gale_driver *driver, int fd)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "socket_error_take", fd);
	if (budget != 0)
		return budget;
	fd_touched(state, fd);
	int rc = gale_driver_socket_error_take(driver_inner(state), fd);
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record != NULL && record->connecting && rc < 0) {
		record->connecting = false; /* The attempt failed: its outcome is this error. */
		state->connects_refused_count += rc == -ECONNREFUSED;
	}
	return rc;
}

static int sd_addr_local(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			 socklen_t *addr_len_out)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "addr_local", fd);
	if (budget != 0)
		return budget;
	fd_touched(state, fd);
	int rc = gale_driver_addr_local(driver_inner(state), fd, addr_out, addr_len_out);
	if (rc == 0 && gale__scenario_is_real(state))
		gale__scenario_addr_to_sim(&state->addrs, addr_out);
	return rc;
}

/* A connecting socket's -ENOTCONN says "not yet" (what may precede a WRITE clear); once it
 * has a peer, "not yet" is over. */
static int sd_addr_peer(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			socklen_t *addr_len_out)
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "addr_peer", fd);
	if (budget != 0)
		return budget;
	int rc = gale_driver_addr_peer(driver_inner(state), fd, addr_out, addr_len_out);
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record != NULL && rc == -ENOTCONN)
		record->write_last = rc;
	else if (record != NULL && rc == 0 && write_is_blocked(record->write_last))
		record->write_last = 0;
	if (record != NULL && rc == 0 && record->connecting) {
		record->connecting = false; /* A peer address proves the connection. */
		state->connections_count++;
	}
	if (rc == 0 && gale__scenario_is_real(state))
		gale__scenario_addr_to_sim(&state->addrs, addr_out);
	fd_touched(state, fd);
	return rc;
}

static int sd_close(struct gale_driver *driver, int fd)
{
	struct gale_scenario_state *state = driver_state(driver);
	fd_touched(state, fd);
	fd_closed(state, fd);
	return gale_driver_close(driver_inner(state), fd);
}

static int sd_socketpair(struct gale_driver *driver, int fds_out[2])
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "socketpair", -1);
	if (budget != 0)
		return budget;
	int rc = gale_driver_socketpair(driver_inner(state), fds_out);
	if (rc == 0) {
		fd_opened(state, fds_out[0], "socketpair");
		fd_opened(state, fds_out[1], "socketpair");
		if (gale__scenario_is_real(state))
			gale__scenario_streams_pair(state, fds_out);
	}
	return rc;
}

static int sd_pipe(struct gale_driver *driver, int fds_out[2])
{
	struct gale_scenario_state *state = driver_state(driver);
	int budget = poll_budget_spend(state, "pipe", -1);
	if (budget != 0)
		return budget;
	int rc = gale_driver_pipe(driver_inner(state), fds_out);
	if (rc == 0) {
		fd_opened(state, fds_out[0], "pipe read end");
		fd_opened(state, fds_out[1], "pipe write end");
		if (gale__scenario_is_real(state))
			gale__scenario_streams_pair(state, fds_out);
	}
	return rc;
}

/* The runner releases the backend's driver itself (checked): the runtime must not. */
static void sd_deinit(struct gale_driver *driver)
{
	(void)driver;
}

/* The ops with bookkeeping of their own; the rest forward through sd_before. */
/* The run's short-I/O world (scenario.h): the backend's promises in Linux's world (the
 * runner switched READ_SHORT and WRITE_PARTIAL off, so the fault driver keeps them), none
 * in the conservative one, whatever the backend could keep. */
static uint32_t sd_caps(struct gale_driver *driver)
{
	struct gale_scenario_state *state = driver_state(driver);
	return state->short_io_linux ? gale_driver_caps(driver_inner(state)) : 0;
}

static const struct gale_driver_ops scenario_driver_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "scenario",
	.fd_register = sd_fd_register,
	.fd_deregister = sd_fd_deregister,
	.wait = sd_wait,
	.read = sd_read,
	.write = sd_write,
	.readv = sd_readv,
	.writev = sd_writev,
	.recv = sd_recv,
	.send = sd_send,
	.socket = sd_socket,
	.bind = sd_bind,
	.accept = sd_accept,
	.connect = sd_connect,
	.socket_error_take = sd_socket_error_take,
	.addr_local = sd_addr_local,
	.addr_peer = sd_addr_peer,
	.close = sd_close,
	.socketpair = sd_socketpair,
	.pipe = sd_pipe,
	.deinit = sd_deinit,
	.caps = sd_caps,
};

/* ---- Lifecycle ------------------------------------------------------------------------------- */

bool gale__scenario_short_io_linux(const struct gale_run_options *options)
{
	assert(options != NULL);
	switch (options->short_io) {
	case GALE_SHORT_IO_CONSERVATIVE:
		return false;
	case GALE_SHORT_IO_LINUX:
		return true;
	default:
		/* Fuzz bytes stay in the conservative world: their corpora were made there. */
		return options->fuzz_bytes == NULL && (options->seed & 1) != 0;
	}
}

void gale__scenario_driver_init(struct gale_scenario_state *state)
{
	assert(state != NULL);
	assert(state->inner != NULL && state->inner->ops != NULL);
	/* The runtime's driver carries the backend's name ("sim", "fault(epoll)"...). */
	gale_driver_forward_init(&state->driver.forward, state->inner, &scenario_driver_ops,
				 state->inner->ops->name, sd_before);
	state->driver.state = state;
}

void gale__scenario_driver_force_close(struct gale_scenario_state *state)
{
	assert(state != NULL && state->runtime_ready);
	struct gale_scenario_run *run = state->run;
	/* Newest first: each deregistration removes its own entry (the newest of its fd). */
	while (state->tokens_len > 0) {
		uint32_t before = state->tokens_len;
		uint64_t token = state->tokens[2 * (before - 1)];
		if (gale_reactor_is_registered(&run->runtime.reactor, token))
			(void)gale_reactor_deregister(&run->runtime.reactor, token);
		if (state->tokens_len == before)
			state->tokens_len--; /* Stale, or its fd's entry went another way. */
	}
	for (uint32_t i = 0; i < state->fds_cap; i++) {
		if (state->fds[i].open)
			(void)gale_driver_close(&state->driver.base, state->fd_base + (int)i);
	}
	if (state->backend != GALE_BACKEND_SIM)
		return; /* A kernel fd opened behind the runner's back is beyond its reach. */
	/* Fds opened on run->sim directly, behind the runner's back. */
	struct gale_sim_leaks leaks;
	while (gale_sim_leaks(&run->sim, &leaks) > 0 && leaks.fds_len > 0) {
		for (uint32_t i = 0; i < leaks.fds_len; i++)
			(void)gale_driver_close(driver_inner(state), leaks.fds[i]);
	}
}

void gale__scenario_driver_deinit(struct gale_scenario_state *state)
{
	assert(state != NULL);
	for (uint32_t i = 0; i < state->fds_cap; i++)
		gale__scenario_expect_free(state->fds[i].expect);
	free(state->fds);
	free(state->tokens);
	state->fds = NULL;
	state->fds_cap = 0;
	state->tokens = NULL;
	state->tokens_len = 0;
	state->tokens_cap = 0;
}
