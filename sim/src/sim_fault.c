/* SPDX-License-Identifier: MIT */
/*
 * The fault driver (sim/): a decorator that forwards every driver op to an inner driver
 * and injects legal faults by ratio or by plan (SQLite test_vfs / test_syscall pattern).
 * The header (gale/sim_fault.h) lists each fault and why it is legal.
 *
 * Sections: 1. bookkeeping (fd table, partitions, plan, recording), 2. readiness ops and
 * wait(), 3. byte ops, 4. socket ops, 5. the plan for the other ops, and socket/pair/pipe,
 * 6. the ops table and public API. Ops not written here are forwards (driver.h).
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <gale/sim_fault.h>

/* Debug builds poison a deinit'd decorator so a use after deinit fails loudly (libuv). */
#ifndef NDEBUG
#define FAULT_POISON(object) memset((object), 0xA5, sizeof(*(object)))
#else
#define FAULT_POISON(object) ((void)0)
#endif /* NDEBUG */

static_assert(offsetof(struct gale_fault_driver, base) == 0, "base must be first");

/* Readiness the reactor never clears: the connection is ending in that direction or both. */
#define READY_ENDING (GALE_READY_RDHUP | GALE_READY_HUP | GALE_READY_ERROR)

static struct gale_fault_driver *fault_from(struct gale_driver *driver)
{
	assert(driver != NULL);
	struct gale_fault_driver *fault = (struct gale_fault_driver *)driver;
	assert(fault->base.ops == &fault->priv_forward.ops);
	assert(fault->priv_forward.inner != NULL);
	return fault;
}

/* ---- 1. Bookkeeping --------------------------------------------------------------------- */

static struct gale_fault_fd *fd_find(struct gale_fault_driver *fault, int fd)
{
	assert(fault->priv_fds_count <= GALE_FAULT_DRIVER_FDS_MAX);
	for (uint32_t i = 0; i < fault->priv_fds_count; i++) {
		if (fault->priv_fds[i].fd == fd)
			return &fault->priv_fds[i];
	}
	return NULL;
}

/* The entry for fd, created if needed; NULL when the table is full (fd goes untracked). */
static struct gale_fault_fd *fd_get(struct gale_fault_driver *fault, int fd)
{
	assert(fd >= 0);
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL)
		return entry;
	if (fault->priv_fds_count == GALE_FAULT_DRIVER_FDS_MAX)
		return NULL;
	entry = &fault->priv_fds[fault->priv_fds_count++];
	*entry = (struct gale_fault_fd){.fd = fd};
	return entry;
}

/* Ends entry's partition, if any, owing nothing: the fd is being deregistered or closed. */
static void partition_end(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	if (entry->partition_heal_ns == 0)
		return;
	assert(fault->priv_partitions_count > 0);
	fault->priv_partitions_count--;
	entry->partition_heal_ns = 0;
	entry->ready_withheld = 0;
}

/*
 * Ends a partition whose time is up. The held readiness plus the registered interest are
 * what the fd is owed: the task that got -EAGAIN waits for one of them, and whatever
 * arrived meanwhile raised no edge it could still see. @return those bits.
 */
static uint32_t partition_heal(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	assert(entry->partition_heal_ns != 0);
	assert(entry->registered);
	uint32_t bits = entry->ready_withheld | (entry->interest & GALE_READY_INTEREST_ALL);
	partition_end(fault, entry);
	return bits != 0 ? bits : GALE_READY_INTEREST_ALL;
}

static void fd_forget(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	assert(fault->priv_fds_count > 0);
	assert(entry >= fault->priv_fds && entry < fault->priv_fds + fault->priv_fds_count);
	partition_end(fault, entry);
	*entry = fault->priv_fds[--fault->priv_fds_count];
}

/* Drops an entry that no longer carries state worth remembering. */
static void fd_forget_if_idle(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	if (!entry->registered && !entry->reset)
		fd_forget(fault, entry);
}

/* The kernel just handed out fd: any state kept under that number is from a closed fd. */
static void fd_fresh(struct gale_fault_driver *fault, int fd)
{
	assert(fd >= 0);
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL)
		fd_forget(fault, entry);
}

/* Owes entry an event carrying bits; a partitioned fd gets them at its heal instead. */
static void entry_owe(struct gale_fault_fd *entry, uint32_t bits)
{
	assert(bits != 0);
	if (entry->partition_heal_ns != 0)
		entry->ready_withheld |= bits;
	else
		entry->ready_owed |= bits;
}

/* Owes fd's registration an event carrying bits (nothing to owe when unregistered). */
static void ready_owe(struct gale_fault_driver *fault, int fd, uint32_t bits)
{
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL && entry->registered)
		entry_owe(entry, bits);
}

/*
 * Whether entry is a connected TCP stream, asked of the inner driver and cached: only TCP
 * knows TCP_NODELAY (AF_UNIX, UDP and pipes refuse it), and addr_peer fails until the
 * handshake is done (and on listeners). A TCP socket not connected yet is asked again.
 */
static bool fd_is_tcp_connected(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	if (entry->kind == GALE_FAULT_FD_KIND_UNKNOWN) {
		int nodelay;
		bool tcp = gale_driver_sockopt_get(fault->priv_forward.inner, entry->fd,
						   GALE_SOCKOPT_NODELAY, &nodelay) == 0;
		entry->kind = tcp ? GALE_FAULT_FD_KIND_TCP : GALE_FAULT_FD_KIND_OTHER;
	}
	if (entry->kind == GALE_FAULT_FD_KIND_TCP) {
		struct sockaddr_storage peer;
		socklen_t peer_len = (socklen_t)sizeof(peer);
		struct gale_driver *inner = fault->priv_forward.inner;
		if (gale_driver_addr_peer(inner, entry->fd, &peer, &peer_len) == 0)
			entry->kind = GALE_FAULT_FD_KIND_TCP_CONNECTED;
	}
	return entry->kind == GALE_FAULT_FD_KIND_TCP_CONNECTED;
}

static void trace_append(struct gale_fault_driver *fault, uint16_t kind, uint16_t op, int fd,
			 uint64_t a, int64_t result)
{
	if (fault->priv_trace == NULL)
		return;
	struct gale_trace_record record = {
		.time_ns = gale_driver_now_ns(fault->priv_forward.inner),
		.kind = kind,
		.op = op,
		.fd = fd,
		.a = a,
		.result = result,
	};
	gale_trace_append(fault->priv_trace, record);
}

/* Whether kind can fire at all, so a fault whose checks cost inner calls skips them. */
static bool fault_ratio_on(const struct gale_fault_driver *fault, enum gale_fault_kind kind)
{
	assert((int)kind >= 0 && kind < GALE_FAULT_COUNT);
	if (fault->priv_profile == NULL)
		return false;
	struct gale_ratio ratio = fault->priv_profile->ratios[kind];
	return ratio.numerator != 0 && ratio.denominator != 0;
}

/* Rolls for one opportunity of kind; counting happens only once the fault is injected. */
static bool fault_roll(struct gale_fault_driver *fault, enum gale_fault_kind kind)
{
	if (fault->priv_profile == NULL)
		return false;
	return gale_fault_roll(fault->priv_profile, fault->priv_entropy, NULL, kind);
}

static void fault_record(struct gale_fault_driver *fault, enum gale_fault_kind kind, int fd,
			 uint64_t a, int64_t result)
{
	assert((int)kind >= 0 && kind < GALE_FAULT_COUNT);
	fault->priv_stats.injected[kind]++;
	trace_append(fault, GALE_TRACE_FAULT, (uint16_t)kind, fd, a, result);
}

/* Counts a call of op; true with *error_out set when the plan fails this call. */
static bool plan_take(struct gale_fault_driver *fault, enum gale_trace_op op, int fd,
		      int *error_out)
{
	assert(op > 0 && op < GALE_TRACE_OP_COUNT_);
	struct gale_fault_plan *plan = &fault->priv_plan;
	uint64_t call_number = ++plan->calls_count[op];
	for (uint32_t i = 0; i < plan->entries_count; i++) {
		const struct gale_fault_plan_entry *entry = &plan->entries[i];
		bool hit = call_number == entry->nth ||
			   (entry->persistent && call_number > entry->nth);
		if (entry->op != op || !hit)
			continue;
		fault->priv_planned_count++;
		trace_append(fault, GALE_TRACE_OP, (uint16_t)op, fd, call_number, entry->error);
		*error_out = entry->error;
		return true;
	}
	return false;
}

/* ---- 2. Readiness ops and wait() --------------------------------------------------------- */

static int fault_fd_register(struct gale_driver *driver, int fd, uint64_t token,
			     uint32_t interest)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_FD_REGISTER, fd, &error))
		return error;
	int rc = gale_driver_fd_register(fault->priv_forward.inner, fd, token, interest);
	if (rc != 0)
		return rc;
	/* A full table leaves fd untracked: it then gets no readiness faults, which is safe. */
	struct gale_fault_fd *entry = fd_get(fault, fd);
	if (entry != NULL) {
		entry->registered = true;
		entry->token = token;
		entry->interest = interest;
		entry->ready_owed = 0;
	}
	return 0;
}

static int fault_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
			       uint32_t interest)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_FD_REREGISTER, fd, &error))
		return error;
	int rc = gale_driver_fd_reregister(fault->priv_forward.inner, fd, token, interest);
	if (rc != 0)
		return rc;
	struct gale_fault_fd *entry = fd_get(fault, fd);
	if (entry != NULL) {
		/* Owed readiness stays owed: it is reported under the new token. */
		entry->registered = true;
		entry->token = token;
		entry->interest = interest;
	}
	return 0;
}

static int fault_fd_deregister(struct gale_driver *driver, int fd)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_FD_DEREGISTER, fd, &error))
		return error;
	int rc = gale_driver_fd_deregister(fault->priv_forward.inner, fd);
	/* The registration is gone whatever the inner driver said (the reactor drops it too). */
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry == NULL || !entry->registered)
		return rc;
	uint64_t token = entry->token;
	entry->registered = false;
	entry->ready_owed = 0;
	partition_end(fault, entry); /* Nobody is left to owe the heal to. */
	fd_forget_if_idle(fault, entry);
	if (fault->priv_stale_count < GALE_FAULT_DRIVER_STALE_MAX &&
	    fault_roll(fault, GALE_FAULT_READY_STALE))
		fault->priv_stale_tokens[fault->priv_stale_count++] = token;
	return rc;
}

/* Moves owed readiness, then stale tokens, into events. @return the count stored. */
static int owed_collect(struct gale_fault_driver *fault, struct gale_event *events,
			int events_cap)
{
	assert(events_cap > 0);
	int count = 0;
	for (uint32_t i = 0; i < fault->priv_fds_count && count < events_cap; i++) {
		struct gale_fault_fd *entry = &fault->priv_fds[i];
		if (!entry->registered || entry->ready_owed == 0)
			continue;
		events[count++] = (struct gale_event){entry->token, entry->ready_owed};
		entry->ready_owed = 0;
	}
	uint32_t stale_taken = 0;
	while (stale_taken < fault->priv_stale_count && count < events_cap) {
		uint64_t token = fault->priv_stale_tokens[stale_taken++];
		events[count++] = (struct gale_event){token, GALE_READY_INTEREST_ALL};
		fault_record(fault, GALE_FAULT_READY_STALE, -1, token, GALE_READY_INTEREST_ALL);
	}
	fault->priv_stale_count -= stale_taken;
	memmove(fault->priv_stale_tokens, fault->priv_stale_tokens + stale_taken,
		fault->priv_stale_count * sizeof(fault->priv_stale_tokens[0]));
	return count;
}

static struct gale_fault_fd *fd_find_by_token(struct gale_fault_driver *fault, uint64_t token)
{
	for (uint32_t i = 0; i < fault->priv_fds_count; i++) {
		struct gale_fault_fd *entry = &fault->priv_fds[i];
		if (entry->registered && entry->token == token)
			return entry;
	}
	return NULL;
}

/*
 * Holds inner events back: a partitioned fd's until its heal, and by READY_DELAY some
 * others until the next wait() (which will not block while anything is owed).
 * @return how many events remain in place.
 */
static int events_hold(struct gale_fault_driver *fault, struct gale_event *events, int count)
{
	assert(count >= 0);
	int kept = 0;
	for (int i = 0; i < count; i++) {
		struct gale_fault_fd *entry = fd_find_by_token(fault, events[i].token);
		if (entry != NULL && (events[i].ready & READY_ENDING) != 0)
			entry->ending = true;
		if (entry != NULL && entry->partition_heal_ns != 0) {
			entry->ready_withheld |= events[i].ready;
			continue;
		}
		if (entry != NULL && events[i].ready != 0 &&
		    fault_roll(fault, GALE_FAULT_READY_DELAY)) {
			entry->ready_owed |= events[i].ready;
			fault_record(fault, GALE_FAULT_READY_DELAY, entry->fd, entry->token,
				     events[i].ready);
			continue;
		}
		events[kept++] = events[i];
	}
	return kept;
}

/*
 * Heals every partition whose time is up: its events go into events while room lasts,
 * the rest are owed to the next wait(). @return the events stored; *left_ns_out is the
 * time until the next heal (INT64_MAX when no partition is left).
 */
static int partitions_heal_due(struct gale_fault_driver *fault, struct gale_event *events,
			       int room, int64_t *left_ns_out)
{
	assert(room >= 0);
	*left_ns_out = INT64_MAX;
	if (fault->priv_partitions_count == 0)
		return 0;
	int64_t now_ns = gale_driver_now_ns(fault->priv_forward.inner);
	int count = 0;
	for (uint32_t i = 0; i < fault->priv_fds_count; i++) {
		struct gale_fault_fd *entry = &fault->priv_fds[i];
		if (entry->partition_heal_ns == 0)
			continue;
		int64_t left_ns = entry->partition_heal_ns - now_ns;
		if (left_ns > 0) {
			*left_ns_out = left_ns < *left_ns_out ? left_ns : *left_ns_out;
			continue;
		}
		uint32_t bits = partition_heal(fault, entry);
		if (count < room)
			events[count++] = (struct gale_event){entry->token, bits};
		else
			entry->ready_owed |= bits;
	}
	return count;
}

/* A wait must not sleep past a heal: the healed fd's task is waiting for its event. */
static int64_t timeout_cap(int64_t timeout_ns, int64_t heal_left_ns)
{
	assert(heal_left_ns > 0);
	if (heal_left_ns == INT64_MAX)
		return timeout_ns; /* No partition: -1 must stay "no limit". */
	return timeout_ns < 0 || timeout_ns > heal_left_ns ? heal_left_ns : timeout_ns;
}

/* READY_SPURIOUS: one extra event for a live registration. @return 0 or 1 events added. */
static int spurious_add(struct gale_fault_driver *fault, struct gale_event *events,
			int events_room)
{
	if (events_room <= 0 || fault->priv_fds_count == 0)
		return 0;
	if (!fault_roll(fault, GALE_FAULT_READY_SPURIOUS))
		return 0;
	uint64_t index = gale_entropy_range(fault->priv_entropy, 0, fault->priv_fds_count - 1);
	const struct gale_fault_fd *entry = &fault->priv_fds[index];
	if (!entry->registered || entry->partition_heal_ns != 0)
		return 0; /* A partition holds back even the events that are not real. */
	uint32_t ready = entry->interest & GALE_READY_INTEREST_ALL;
	if (ready == 0)
		ready = GALE_READY_INTEREST_ALL;
	events[0] = (struct gale_event){entry->token, ready};
	fault_record(fault, GALE_FAULT_READY_SPURIOUS, entry->fd, entry->token, ready);
	return 1;
}

/*
 * Owed events go first and make the inner wait a poll (timeout 0): blocking while an
 * event is owed would hang a task whose readiness the decorator itself swallowed. For the
 * same reason the inner wait ends by the earliest heal, whose event is then reported.
 */
static int fault_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		      int64_t timeout_ns)
{
	struct gale_fault_driver *fault = fault_from(driver);
	assert(events != NULL && events_cap > 0);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_WAIT, -1, &error))
		return error;
	int64_t heal_left_ns;
	(void)partitions_heal_due(fault, events, 0, &heal_left_ns); /* Owed, collected next. */
	int count = owed_collect(fault, events, events_cap);
	if (count < events_cap) {
		int64_t inner_timeout_ns = count > 0 ? 0 : timeout_cap(timeout_ns, heal_left_ns);
		int rc = gale_driver_wait(fault->priv_forward.inner, events + count,
					  events_cap - count, inner_timeout_ns);
		if (rc < 0)
			return count > 0 ? count : rc;
		count += events_hold(fault, events + count, rc);
		count += partitions_heal_due(fault, events + count, events_cap - count,
					     &heal_left_ns);
	}
	count += spurious_add(fault, events + count, events_cap - count);
	assert(count <= events_cap);
	return count;
}

/* ---- 3. Byte ops ------------------------------------------------------------------------ */

/*
 * Tears the connection down for RESET. A connected TCP socket is disconnected: connect to
 * an AF_UNSPEC address is Linux's tcp_disconnect, which sends the peer a real RST and
 * leaves the fd open. Anything else, or a TCP socket whose disconnect fails, is shut down
 * both ways (its peer then sees EOF rather than a reset, still consistent). A TCP socket
 * not connected is left alone: shutting a listener down would stop it listening.
 * @return whether the connection is down.
 */
static bool reset_inner(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	/* Only TCP is ever reset, as in the sim: nothing on the wire can reset an AF_UNIX
	 * pair, so a "reset" there would be behaviour no kernel shows. */
	if (!fd_is_tcp_connected(fault, entry))
		return false;
	struct sockaddr unspec;
	memset(&unspec, 0, sizeof(unspec));
	unspec.sa_family = AF_UNSPEC;
	if (gale_driver_connect(fault->priv_forward.inner, entry->fd, &unspec,
				(socklen_t)sizeof(unspec)) == 0)
		return true;
	return gale_driver_shutdown(fault->priv_forward.inner, entry->fd, GALE_SHUTDOWN_BOTH) == 0;
}

/*
 * RESET: tears the connection down first, so that every later op agrees with the
 * -ECONNRESET (reads see 0, writes -EPIPE, readiness fires). Where that fails (a pipe, an
 * unconnected socket) the fault is not injected, nor once the fd is ending: a reset is
 * mid-stream, as in the sim (per data segment), never after the peer's FIN or RST.
 */
static bool io_reset_try(struct gale_fault_driver *fault, int fd, size_t len, ssize_t *rc_out)
{
	if (!fault_roll(fault, GALE_FAULT_RESET))
		return false;
	struct gale_fault_fd *entry = fd_get(fault, fd);
	if (entry == NULL)
		return false;
	if (entry->ending || !reset_inner(fault, entry)) {
		fd_forget_if_idle(fault, entry);
		return false;
	}
	entry->reset = true;
	entry_owe(entry, GALE_READY_INTEREST_ALL);
	fault_record(fault, GALE_FAULT_RESET, fd, len, -ECONNRESET);
	*rc_out = -ECONNRESET;
	return true;
}

/* Whether entry's partition still holds; one whose time is up heals here, owing its event. */
static bool partition_holds(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	if (entry->partition_heal_ns == 0)
		return false;
	if (gale_driver_now_ns(fault->priv_forward.inner) < entry->partition_heal_ns)
		return true;
	entry->ready_owed |= partition_heal(fault, entry);
	return false;
}

/*
 * PARTITION: rolled only where it can be kept up, a registered connected TCP stream that
 * is not ending (an AF_UNIX pair never spends the roll). Readiness owed so far waits for
 * the heal too.
 * @return true when a partition starts now (the op answers -EAGAIN).
 */
static bool io_partition_try(struct gale_fault_driver *fault, struct gale_fault_fd *entry)
{
	if (entry == NULL || !entry->registered || entry->ending ||
	    !fault_ratio_on(fault, GALE_FAULT_PARTITION))
		return false;
	assert(entry->partition_heal_ns == 0 && !entry->reset);
	if (!fd_is_tcp_connected(fault, entry) || !fault_roll(fault, GALE_FAULT_PARTITION))
		return false;
	int64_t max_ns = fault->priv_profile->partition_ns_max;
	max_ns = max_ns > 0 ? max_ns : GALE_FAULT_DRIVER_PARTITION_NS_DEFAULT;
	int64_t duration_ns = (int64_t)gale_entropy_range(fault->priv_entropy, 1, (uint64_t)max_ns);
	int64_t now_ns = gale_driver_now_ns(fault->priv_forward.inner);
	entry->partition_heal_ns = now_ns > INT64_MAX - duration_ns ? INT64_MAX
								    : now_ns + duration_ns;
	entry->ready_withheld = entry->ready_owed;
	entry->ready_owed = 0;
	fault->priv_partitions_count++;
	fault_record(fault, GALE_FAULT_PARTITION, entry->fd, (uint64_t)duration_ns, -EAGAIN);
	return true;
}

/*
 * Faults that answer a byte op without the inner op: the plan, the aftermath of a RESET,
 * a partition (held or new), RESET itself and WouldBlock. @return true with *rc_out set
 * when answered here.
 */
static bool io_answer(struct gale_fault_driver *fault, enum gale_trace_op op, int fd,
		      size_t len, bool is_write, ssize_t *rc_out)
{
	uint32_t direction = is_write ? GALE_READY_WRITE : GALE_READY_READ;
	int error;
	if (plan_take(fault, op, fd, &error)) {
		ready_owe(fault, fd, direction);
		*rc_out = error;
		return true;
	}
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL && entry->reset) {
		*rc_out = is_write ? -EPIPE : 0;
		return true;
	}
	if (len == 0)
		return false;
	/* A new partition, like a reset, starts with a segment leaving (a write). */
	if ((entry != NULL && partition_holds(fault, entry)) ||
	    (is_write && io_partition_try(fault, entry))) {
		*rc_out = -EAGAIN;
		return true;
	}
	/* A reset rides on a segment leaving, as in the sim (per data segment): rolled per
	 * write, never per read, so retried reads do not multiply the odds. */
	if (is_write && io_reset_try(fault, fd, len, rc_out))
		return true;
	/* Still valid: an entry exists only while registered or reset, and a failed RESET
	 * forgets only the entry it created itself. */
	enum gale_fault_kind kind = is_write ? GALE_FAULT_WRITE_WOULD_BLOCK
					     : GALE_FAULT_READ_WOULD_BLOCK;
	if (entry == NULL || !entry->registered || !fault_roll(fault, kind))
		return false;
	entry_owe(entry, direction);
	fault_record(fault, kind, fd, len, -EAGAIN);
	*rc_out = -EAGAIN;
	return true;
}

/* READ_SHORT / WRITE_PARTIAL: the length to hand the inner op (1..len-1 when injected). */
static size_t io_len_shorten(struct gale_fault_driver *fault, enum gale_fault_kind kind, int fd,
			     size_t len)
{
	if (len < 2 || !fault_roll(fault, kind))
		return len;
	size_t len_short = (size_t)gale_entropy_range(fault->priv_entropy, 1, len - 1);
	assert(len_short >= 1 && len_short < len);
	fault_record(fault, kind, fd, len, (int64_t)len_short);
	return len_short;
}

static size_t iov_len_total(const struct iovec *iov, int iov_count)
{
	assert(iov != NULL || iov_count == 0);
	size_t total = 0;
	for (int i = 0; i < iov_count; i++)
		total += iov[i].iov_len;
	return total;
}

/* The first non-empty buffer: a shortened vectored op moves bytes from it alone. */
static const struct iovec *iov_first_nonempty(const struct iovec *iov, int iov_count)
{
	for (int i = 0; i < iov_count; i++) {
		if (iov[i].iov_len > 0)
			return &iov[i];
	}
	assert(!"iov_first_nonempty: no bytes");
	return NULL;
}

static ssize_t fault_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	struct gale_fault_driver *fault = fault_from(driver);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_READ, fd, len, false, &rc))
		return rc;
	len = io_len_shorten(fault, GALE_FAULT_READ_SHORT, fd, len);
	return gale_driver_read(fault->priv_forward.inner, fd, buf, len);
}

static ssize_t fault_write(struct gale_driver *driver, int fd, const void *buf, size_t len)
{
	struct gale_fault_driver *fault = fault_from(driver);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_WRITE, fd, len, true, &rc))
		return rc;
	len = io_len_shorten(fault, GALE_FAULT_WRITE_PARTIAL, fd, len);
	return gale_driver_write(fault->priv_forward.inner, fd, buf, len);
}

static ssize_t fault_readv(struct gale_driver *driver, int fd, const struct iovec *iov,
			   int iov_count)
{
	struct gale_fault_driver *fault = fault_from(driver);
	size_t len = iov_len_total(iov, iov_count);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_READV, fd, len, false, &rc))
		return rc;
	size_t len_short = io_len_shorten(fault, GALE_FAULT_READ_SHORT, fd, len);
	if (len_short == len)
		return gale_driver_readv(fault->priv_forward.inner, fd, iov, iov_count);
	const struct iovec *first = iov_first_nonempty(iov, iov_count);
	size_t len_first = first->iov_len < len_short ? first->iov_len : len_short;
	return gale_driver_read(fault->priv_forward.inner, fd, first->iov_base, len_first);
}

static ssize_t fault_writev(struct gale_driver *driver, int fd, const struct iovec *iov,
			    int iov_count)
{
	struct gale_fault_driver *fault = fault_from(driver);
	size_t len = iov_len_total(iov, iov_count);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_WRITEV, fd, len, true, &rc))
		return rc;
	size_t len_short = io_len_shorten(fault, GALE_FAULT_WRITE_PARTIAL, fd, len);
	if (len_short == len)
		return gale_driver_writev(fault->priv_forward.inner, fd, iov, iov_count);
	const struct iovec *first = iov_first_nonempty(iov, iov_count);
	size_t len_first = first->iov_len < len_short ? first->iov_len : len_short;
	return gale_driver_write(fault->priv_forward.inner, fd, first->iov_base, len_first);
}

static ssize_t fault_recv(struct gale_driver *driver, int fd, void *buf, size_t len,
			  uint32_t flags)
{
	struct gale_fault_driver *fault = fault_from(driver);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_RECV, fd, len, false, &rc))
		return rc;
	len = io_len_shorten(fault, GALE_FAULT_READ_SHORT, fd, len);
	return gale_driver_recv(fault->priv_forward.inner, fd, buf, len, flags);
}

static ssize_t fault_send(struct gale_driver *driver, int fd, const void *buf, size_t len,
			  uint32_t flags)
{
	struct gale_fault_driver *fault = fault_from(driver);
	ssize_t rc;
	if (io_answer(fault, GALE_TRACE_OP_SEND, fd, len, true, &rc))
		return rc;
	len = io_len_shorten(fault, GALE_FAULT_WRITE_PARTIAL, fd, len);
	return gale_driver_send(fault->priv_forward.inner, fd, buf, len, flags);
}

/* ---- 4. Socket ops with faults ------------------------------------------------------------ */

/* EMFILE and WouldBlock leave the pending connection queued; the owed event retries it. */
static int fault_accept(struct gale_driver *driver, int fd, struct sockaddr_storage *addr_out,
			socklen_t *addr_len_out)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error = 0;
	if (plan_take(fault, GALE_TRACE_OP_ACCEPT, fd, &error)) {
		ready_owe(fault, fd, GALE_READY_READ);
		return error;
	}
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL && entry->registered) {
		if (fault_roll(fault, GALE_FAULT_ACCEPT_EMFILE))
			error = -EMFILE;
		else if (fault_roll(fault, GALE_FAULT_READ_WOULD_BLOCK))
			error = -EAGAIN;
		if (error != 0) {
			entry_owe(entry, GALE_READY_READ);
			fault_record(fault, error == -EMFILE ? GALE_FAULT_ACCEPT_EMFILE
							     : GALE_FAULT_READ_WOULD_BLOCK,
				     fd, 0, error);
			return error;
		}
	}
	int accepted = gale_driver_accept(fault->priv_forward.inner, fd, addr_out, addr_len_out);
	if (accepted >= 0)
		fd_fresh(fault, accepted);
	return accepted;
}

static int fault_connect(struct gale_driver *driver, int fd, const struct sockaddr *addr,
			 socklen_t addr_len)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_CONNECT, fd, &error))
		return error;
	int rc = gale_driver_connect(fault->priv_forward.inner, fd, addr, addr_len);
	if (rc != 0 || !fault_roll(fault, GALE_FAULT_CONNECT_SLOW))
		return rc;
	/* Connected already, so writability is real; an unregistered fd gets it from
	 * fd_register, which reports current readiness like EPOLL_CTL_ADD. */
	ready_owe(fault, fd, GALE_READY_WRITE);
	fault_record(fault, GALE_FAULT_CONNECT_SLOW, fd, 0, -EINPROGRESS);
	return -EINPROGRESS;
}

static int fault_close(struct gale_driver *driver, int fd)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error = 0;
	bool planned = plan_take(fault, GALE_TRACE_OP_CLOSE, fd, &error);
	/* close releases the fd even when it reports an error (driver.h), so a planned
	 * failure still closes; the fd number may be reused at once, so forget it now. */
	int rc = gale_driver_close(fault->priv_forward.inner, fd);
	struct gale_fault_fd *entry = fd_find(fault, fd);
	if (entry != NULL)
		fd_forget(fault, entry);
	return planned ? error : rc;
}

/* ---- 5. The plan for the forwarded ops; ops that open fds -------------------------------- */

/*
 * The forwarding base's hook: every op this file does not write (bind, listen, sockopt_*,
 * addr_*, shutdown...) goes straight to the inner driver unless the plan fails it. wake is
 * never planned (it may come from another thread), nor now_ns (it has no id).
 */
static int fault_before(struct gale_driver_forward *forward, enum gale_driver_op op, int fd)
{
	struct gale_fault_driver *fault = fault_from(&forward->base);
	int error;
	return plan_take(fault, (enum gale_trace_op)op, fd, &error) ? error : 0;
}

static int fault_socket(struct gale_driver *driver, int domain, int type, int protocol)
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_SOCKET, -1, &error))
		return error;
	int fd = gale_driver_socket(fault->priv_forward.inner, domain, type, protocol);
	if (fd >= 0)
		fd_fresh(fault, fd);
	return fd;
}

/* Both pair ops: the new fds replace whatever was kept under their numbers. */
static int fault_fds_fresh(struct gale_fault_driver *fault, int rc, const int fds_out[2])
{
	if (rc == 0) {
		fd_fresh(fault, fds_out[0]);
		fd_fresh(fault, fds_out[1]);
	}
	return rc;
}

static int fault_socketpair(struct gale_driver *driver, int fds_out[2])
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_SOCKETPAIR, -1, &error))
		return error;
	return fault_fds_fresh(fault, gale_driver_socketpair(fault->priv_forward.inner, fds_out),
			       fds_out);
}

static int fault_pipe(struct gale_driver *driver, int fds_out[2])
{
	struct gale_fault_driver *fault = fault_from(driver);
	int error;
	if (plan_take(fault, GALE_TRACE_OP_PIPE, -1, &error))
		return error;
	return fault_fds_fresh(fault, gale_driver_pipe(fault->priv_forward.inner, fds_out),
			       fds_out);
}

/*
 * What the inner driver vouches for, minus what this decorator breaks: a read it shortened
 * (READ_SHORT) proves nothing about the queue, a write it cut (WRITE_PARTIAL) nothing about
 * the buffer, so while a kind can fire its promise is withdrawn. The profile is read now:
 * the reactor asks when a stream registers (driver.h), so switch these kinds on or off only
 * while no stream is registered.
 */
static uint32_t fault_caps(struct gale_driver *driver)
{
	struct gale_fault_driver *fault = fault_from(driver);
	uint32_t caps = gale_driver_caps(fault->priv_forward.inner);
	if (fault_ratio_on(fault, GALE_FAULT_READ_SHORT))
		caps &= ~(uint32_t)GALE_DRIVER_CAP_READ_SHORT_DRAINED;
	if (fault_ratio_on(fault, GALE_FAULT_WRITE_PARTIAL))
		caps &= ~(uint32_t)GALE_DRIVER_CAP_WRITE_SHORT_FULL;
	return caps;
}

static void fault_deinit(struct gale_driver *driver)
{
	gale_fault_driver_deinit(fault_from(driver));
}

/* ---- 6. The ops table and the public API ------------------------------------------------- */

/* The ops this file writes; every other op forwards to the inner driver after the plan
 * (fault_before). The name is per instance ("fault(epoll)"). */
static const struct gale_driver_ops fault_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "fault",
	.fd_register = fault_fd_register,
	.fd_reregister = fault_fd_reregister,
	.fd_deregister = fault_fd_deregister,
	.wait = fault_wait,
	.read = fault_read,
	.write = fault_write,
	.readv = fault_readv,
	.writev = fault_writev,
	.recv = fault_recv,
	.send = fault_send,
	.socket = fault_socket,
	.accept = fault_accept,
	.connect = fault_connect,
	.close = fault_close,
	.socketpair = fault_socketpair,
	.pipe = fault_pipe,
	.deinit = fault_deinit,
	.caps = fault_caps,
};

int gale_fault_driver_init(struct gale_fault_driver *fault, struct gale_driver *inner,
			   const struct gale_fault_profile *profile, struct gale_entropy *entropy,
			   struct gale_trace *trace)
{
	assert(fault != NULL);
	assert(inner != NULL && inner->ops != NULL);
	assert(profile == NULL || entropy != NULL);
	memset(fault, 0, sizeof(*fault));
	fault->priv_profile = profile;
	fault->priv_entropy = entropy;
	fault->priv_trace = trace;
	snprintf(fault->priv_name, sizeof(fault->priv_name), "fault(%s)", gale_driver_name(inner));
	gale_driver_forward_init(&fault->priv_forward, inner, &fault_ops, fault->priv_name,
				 fault_before);
	return 0;
}

void gale_fault_driver_deinit(struct gale_fault_driver *fault)
{
	assert(fault != NULL);
	if (fault->base.ops == NULL)
		return;
	assert(fault->base.ops == &fault->priv_forward.ops);
	FAULT_POISON(fault);
	fault->base.ops = NULL; /* Still NULL-checked, so a second deinit is a no-op. */
}

int gale_fault_driver_plan_add(struct gale_fault_driver *fault, enum gale_trace_op op,
			       uint64_t nth, int error, bool persistent)
{
	assert(fault != NULL);
	assert(fault->base.ops == &fault->priv_forward.ops);
	if ((int)op <= 0 || op >= GALE_TRACE_OP_COUNT_ || op == GALE_TRACE_OP_WAKE || nth == 0 ||
	    error >= 0 || error == -EINTR)
		return -EINVAL;
	struct gale_fault_plan *plan = &fault->priv_plan;
	if (plan->entries_count == GALE_FAULT_DRIVER_PLAN_MAX)
		return -ENOSPC;
	plan->entries[plan->entries_count++] = (struct gale_fault_plan_entry){
		.nth = nth,
		.error = error,
		.op = (uint16_t)op,
		.persistent = persistent,
	};
	return 0;
}

void gale_fault_driver_plan_clear(struct gale_fault_driver *fault)
{
	assert(fault != NULL);
	assert(fault->base.ops == &fault->priv_forward.ops);
	fault->priv_plan.entries_count = 0;
}

uint64_t gale_fault_driver_calls_count(const struct gale_fault_driver *fault,
				       enum gale_trace_op op)
{
	assert(fault != NULL);
	if ((int)op <= 0 || op >= GALE_TRACE_OP_COUNT_)
		return 0; /* No such op: never called. */
	return fault->priv_plan.calls_count[op];
}

struct gale_fault_stats gale_fault_driver_stats_get(const struct gale_fault_driver *fault)
{
	assert(fault != NULL);
	assert(fault->base.ops == &fault->priv_forward.ops);
	return fault->priv_stats;
}

uint64_t gale_fault_driver_planned_count(const struct gale_fault_driver *fault)
{
	assert(fault != NULL);
	assert(fault->base.ops == &fault->priv_forward.ops);
	return fault->priv_planned_count;
}
