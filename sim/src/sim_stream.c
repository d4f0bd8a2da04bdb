/* SPDX-License-Identifier: MIT */
/*
 * One direction of a simulated stream (below sim_io.c and sim_net.c): the bounded ring
 * that holds the bytes in flight and the bytes delivered but unread, the in-order segments
 * that carry them (data, FIN, RST) with their arrival times, delivery, and the
 * stream-integrity oracle.
 *
 * Ring layout: [head, head + delivered) is readable, [head + delivered, head + len) is in
 * flight, in segment order. A segment never arrives before the one in front of it, so
 * delivery only ever moves the boundary: bytes are never reordered or duplicated.
 *
 * Integrity: writes hash the bytes they accept and reads the bytes they return (FNV-1a,
 * from the callers' buffers, not the ring); whenever a reader has read exactly what was
 * written, the hashes must agree. A FIN may only be read after every byte.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define FNV_OFFSET UINT64_C(0xCBF29CE484222325)
#define FNV_PRIME UINT64_C(0x100000001B3)

GALE_NO_FUZZ_COVERAGE
static uint64_t fnv_bytes(uint64_t hash, const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		hash ^= bytes[i];
		hash *= FNV_PRIME;
	}
	return hash;
}

void gale__sim_flow_init(struct sim_flow *flow)
{
	assert(flow != NULL);
	*flow = (struct sim_flow){0};
	gale__sim_fifo_init(&flow->segments, sizeof(struct sim_segment));
	flow->hash_written = FNV_OFFSET;
	flow->hash_read = FNV_OFFSET;
}

void gale__sim_flow_deinit(struct sim_flow *flow)
{
	assert(flow != NULL);
	free(flow->ring);
	flow->ring = NULL;
	flow->ring_cap = 0;
	gale__sim_fifo_deinit(&flow->segments);
}

size_t gale__sim_flow_space(const struct gale_sim_state *state, const struct sim_flow *flow)
{
	(void)state;
	/* A limit lowered below what is already outstanding only stops new writes. */
	return flow->limit > flow->len ? flow->limit - flow->len : 0;
}

/* ---- Buffer sizes -------------------------------------------------------------------- */

/* One side's share of a TCP flow: half the stored size when set (Linux stores twice what
 * was asked; about half of that holds payload), else half of socket_buf_size. */
static size_t buf_share(int stored, size_t share_default)
{
	assert(stored >= 0);
	return stored > 0 ? (size_t)stored / 2 : share_default;
}

void gale__sim_flow_limits_update(struct gale_sim_state *state, struct sim_conn *conn)
{
	size_t buf = state->options.socket_buf_size;
	for (int from = 0; from < 2; from++) {
		const struct sim_endpoint *writer = &conn->ends[from];
		const struct sim_endpoint *reader = &conn->ends[1 - from];
		size_t limit = buf;
		if (conn->kind == SIM_CONN_TCP && (writer->sndbuf > 0 || reader->rcvbuf > 0))
			limit = buf_share(writer->sndbuf, buf - buf / 2) +
				buf_share(reader->rcvbuf, buf / 2);
		else if (conn->kind == SIM_CONN_UNIX && writer->sndbuf > 0)
			limit = (size_t)writer->sndbuf / 2;
		conn->flows[from].limit = limit > 0 ? limit : 1;
	}
}

void gale__sim_endpoint_bufs_take(struct gale_sim_state *state, struct sim_conn *conn, int side,
				  const struct sim_fd *fd)
{
	assert(side == 0 || side == 1);
	struct sim_endpoint *end = &conn->ends[side];
	end->sndbuf = fd->sndbuf_set ? fd->opts[GALE_SOCKOPT_SNDBUF] : 0;
	end->rcvbuf = fd->rcvbuf_set ? fd->opts[GALE_SOCKOPT_RCVBUF] : 0;
	gale__sim_flow_limits_update(state, conn);
}

/* ---- The ring ------------------------------------------------------------------------ */

static size_t ring_index(const struct sim_flow *flow, size_t offset)
{
	assert(flow->ring_cap > 0);
	size_t index = flow->head + offset;
	return index >= flow->ring_cap ? index - flow->ring_cap : index;
}

/* Grows the ring (doubling, at most the flow's limit) to hold len_needed bytes. */
static int ring_reserve(struct sim_flow *flow, size_t len_needed)
{
	assert(len_needed <= flow->limit);
	if (len_needed <= flow->ring_cap)
		return 0;
	size_t cap = flow->ring_cap == 0 ? SIM_RING_SIZE_MIN : flow->ring_cap;
	while (cap < len_needed)
		cap *= 2;
	if (cap > flow->limit)
		cap = flow->limit;
	uint8_t *ring = malloc(cap);
	if (ring == NULL)
		return -ENOMEM;
	/* Unrolled: the oldest byte moves to index 0. */
	size_t first = flow->len;
	if (flow->len > 0 && flow->head + flow->len > flow->ring_cap)
		first = flow->ring_cap - flow->head;
	if (flow->len > 0) {
		memcpy(ring, flow->ring + flow->head, first);
		memcpy(ring + first, flow->ring, flow->len - first);
	}
	free(flow->ring);
	flow->ring = ring;
	flow->ring_cap = cap;
	flow->head = 0;
	return 0;
}

/* Copies len bytes between the ring at offset and the iovecs (to_ring: from them). */
static void ring_transfer(struct sim_flow *flow, size_t offset, const struct iovec *iov,
			  int iov_count, size_t len, bool to_ring)
{
	assert(offset + len <= flow->ring_cap);
	size_t done = 0;
	for (int i = 0; i < iov_count && done < len; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t part = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		for (size_t moved = 0; moved < part;) {
			size_t index = ring_index(flow, offset + done + moved);
			size_t chunk = flow->ring_cap - index;
			chunk = chunk < part - moved ? chunk : part - moved;
			if (to_ring)
				memcpy(flow->ring + index, base + moved, chunk);
			else
				memcpy(base + moved, flow->ring + index, chunk);
			moved += chunk;
		}
		done += part;
	}
	assert(done == len);
}

/* FNV-1a over the first len bytes of the iovecs. */
GALE_NO_FUZZ_COVERAGE
static uint64_t iov_hash(uint64_t hash, const struct iovec *iov, int iov_count, size_t len)
{
	size_t done = 0;
	for (int i = 0; i < iov_count && done < len; i++) {
		size_t part = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		hash = fnv_bytes(hash, iov[i].iov_base, part);
		done += part;
	}
	return hash;
}

static void ring_discard_front(struct sim_flow *flow, size_t len)
{
	assert(len <= flow->len);
	if (len == 0)
		return;
	flow->head = ring_index(flow, len);
	flow->len -= len;
}

/* ---- Integrity ----------------------------------------------------------------------- */

static void failure_record(struct gale_sim_state *state, const struct sim_conn *conn, int to,
			   int code)
{
	if (state->failure.code != 0)
		return; /* The first failure is the one worth reporting. */
	const struct sim_flow *flow = &conn->flows[1 - to];
	state->failure = (struct sim_failure){
		.code = code,
		.conn_id = conn->id,
		.fd_writer = conn->ends[1 - to].fd,
		.fd_reader = conn->ends[to].fd,
		.offset = flow->bytes_read,
		.written = flow->bytes_written,
	};
}

static void integrity_check(struct gale_sim_state *state, const struct sim_conn *conn, int to)
{
	const struct sim_flow *flow = &conn->flows[1 - to];
	if (flow->bytes_read > flow->bytes_written)
		failure_record(state, conn, to, GALE_SIM_CHECK_STREAM_EXCESS);
	else if (flow->bytes_read == flow->bytes_written && flow->hash_read != flow->hash_written)
		failure_record(state, conn, to, GALE_SIM_CHECK_STREAM_CORRUPT);
}

void gale__sim_flow_check_eof(struct gale_sim_state *state, struct sim_conn *conn, int to)
{
	const struct sim_flow *flow = &conn->flows[1 - to];
	if (flow->bytes_read != flow->bytes_written)
		failure_record(state, conn, to, GALE_SIM_CHECK_STREAM_LOST);
	else
		integrity_check(state, conn, to);
}

/* ---- Segments ------------------------------------------------------------------------ */

static int64_t time_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* When a segment of len bytes sent now from ends[from] arrives, in order. */
static int64_t segment_arrival(struct gale_sim_state *state, struct sim_conn *conn, int from,
			       size_t len)
{
	assert(from == 0 || from == 1);
	struct sim_flow *flow = &conn->flows[from];
	int64_t arrival_ns;
	if (conn->kind == SIM_CONN_TCP) {
		int64_t depart_ns = state->now_ns;
		uint64_t rate = state->options.bandwidth_bytes_per_s;
		if (rate > 0 && len > 0) {
			/* len <= 2^30 and 1e9 < 2^30: the product fits in 64 bits. */
			uint64_t wire_ns = ((uint64_t)len * SIM_NS_PER_SEC + rate - 1) / rate;
			int64_t start_ns = time_max(state->now_ns, flow->link_free_ns);
			flow->link_free_ns = gale__sim_time_after(start_ns, (int64_t)wire_ns);
			depart_ns = flow->link_free_ns;
		}
		arrival_ns = gale__sim_tcp_arrival_ns(state, conn, from, depart_ns);
	} else {
		arrival_ns = gale__sim_time_after(state->now_ns, state->options.pair_latency_ns);
	}
	arrival_ns = time_max(arrival_ns, flow->arrival_last_ns);
	flow->arrival_last_ns = arrival_ns;
	return arrival_ns;
}

int64_t gale__sim_tcp_arrival_ns(struct gale_sim_state *state, const struct sim_conn *conn,
				 int from, int64_t depart_ns)
{
	assert(conn->kind == SIM_CONN_TCP);
	const struct gale_fault_profile *profile = state->options.profile;
	int64_t delay_ns = gale__sim_range(state, state->options.latency_ns_min,
					   state->options.latency_ns_max);
	if (profile != NULL && profile->latency_jitter_ns_max > 0 &&
	    gale__sim_fault(state, GALE_FAULT_LATENCY_JITTER, conn->ends[from].fd))
		delay_ns += gale__sim_range(state, 1, profile->latency_jitter_ns_max);
	int64_t arrival_ns = gale__sim_time_after(depart_ns, delay_ns);
	uint32_t host_from = conn->ends[from].addr.host;
	uint32_t host_to = conn->ends[1 - from].addr.host;
	if (host_from != host_to)
		arrival_ns = time_max(arrival_ns,
				      gale__sim_partition_heal_ns(state, host_from, host_to));
	return arrival_ns;
}

/* The segment at the front of the flow reached ends[1 - from]. */
static void segment_deliver(struct gale_sim_state *state, struct sim_conn *conn, int from,
			    struct sim_segment segment)
{
	int to = 1 - from;
	struct sim_endpoint *end = &conn->ends[to];
	struct sim_flow *flow = &conn->flows[from];
	assert(flow->delivered + segment.len <= flow->len);
	if (segment.len > 0 && conn->kind == SIM_CONN_TCP &&
	    gale__sim_fault(state, GALE_FAULT_RESET, end->fd)) {
		/* The abort drops everything in flight, this segment included. */
		gale__sim_conn_abort(state, conn);
		return;
	}
	if (!end->is_open) {
		/* Nobody to read it: gone. TCP answers data for a closed socket with a RST. */
		assert(flow->delivered == 0);
		ring_discard_front(flow, segment.len);
		if (segment.len > 0 && conn->kind == SIM_CONN_TCP)
			(void)gale__sim_flow_send_flags(state, conn, to, SIM_SEGMENT_RST);
		gale__sim_endpoint_update(state, conn, from);
		return;
	}
	if (segment.len > 0 && conn->kind == SIM_CONN_TCP && end->rcv_shutdown &&
	    conn->flows[to].fin_sent) {
		/* Linux's tcp_rcv_state_process in FIN_WAIT1/2 with the read side shut: data is
		 * answered with a reset (RFC 1122): this end resets (ECONNRESET), the sender
		 * gets a RST, and the data is gone (found by fuzz_differential). */
		gale__sim_flow_drop_in_flight(state, conn, from);
		gale__sim_conn_reset_receive(state, conn, to);
		(void)gale__sim_flow_send_flags(state, conn, to, SIM_SEGMENT_RST);
		gale__sim_endpoint_update(state, conn, to);
		return;
	}
	flow->delivered += segment.len;
	state->stats.bytes_delivered += segment.len;
	if ((segment.flags & SIM_SEGMENT_FIN) != 0)
		end->fin_received = true;
	if ((segment.flags & SIM_SEGMENT_RST) != 0)
		gale__sim_conn_reset_receive(state, conn, to);
	gale__sim_endpoint_update(state, conn, to);
}

static void flow_schedule(struct gale_sim_state *state, struct sim_conn *conn, int from)
{
	struct sim_flow *flow = &conn->flows[from];
	if (flow->scheduled || flow->segments.len == 0)
		return;
	const struct sim_segment *front = gale__sim_fifo_at(&flow->segments, 0);
	/* Out of memory leaves it unscheduled: the sim's own bookkeeping cannot do better. */
	if (gale__sim_clock_schedule(state, front->arrival_ns, SIM_EVENT_FLOW, conn->index,
				     conn->generation, (uint16_t)from) == 0)
		flow->scheduled = true;
}

void gale__sim_flow_fire(struct gale_sim_state *state, struct sim_conn *conn, int from)
{
	assert(from == 0 || from == 1);
	struct sim_flow *flow = &conn->flows[from];
	flow->scheduled = false;
	while (flow->segments.len > 0) {
		struct sim_segment segment =
			*(const struct sim_segment *)gale__sim_fifo_at(&flow->segments, 0);
		if (segment.arrival_ns > state->now_ns)
			break;
		/* Popped first: delivery may drop the rest of this flow (a RST, an abort). */
		gale__sim_fifo_pop(&flow->segments);
		segment_deliver(state, conn, from, segment);
	}
	flow_schedule(state, conn, from);
}

static void segment_send(struct gale_sim_state *state, struct sim_conn *conn, int from,
			 size_t len, uint32_t flags)
{
	assert(from == 0 || from == 1);
	assert(len <= UINT32_MAX && (len > 0 || flags != 0));
	struct sim_flow *flow = &conn->flows[from];
	struct sim_segment segment = {
		.arrival_ns = segment_arrival(state, conn, from, len),
		.len = (uint32_t)len,
		.flags = flags,
	};
	state->stats.segments_count++;
	if (flow->segments.len == 0 && segment.arrival_ns <= state->now_ns) {
		segment_deliver(state, conn, from, segment);
		return;
	}
	if (flags == 0 && flow->segments.len > 0) {
		struct sim_segment *back = gale__sim_fifo_back(&flow->segments);
		if (back->flags == 0 && back->arrival_ns == segment.arrival_ns) {
			back->len += segment.len; /* Same instant, same direction: one segment. */
			return;
		}
	}
	if (gale__sim_fifo_push(&flow->segments, &segment) < 0) {
		/* Out of memory: deliver what is queued now rather than lose bytes. */
		for (uint32_t i = 0; i < flow->segments.len; i++)
			((struct sim_segment *)gale__sim_fifo_at(&flow->segments, i))->arrival_ns =
				state->now_ns;
		gale__sim_flow_fire(state, conn, from);
		segment.arrival_ns = state->now_ns;
		segment_deliver(state, conn, from, segment);
		return;
	}
	flow_schedule(state, conn, from);
}

int gale__sim_flow_send(struct gale_sim_state *state, struct sim_conn *conn, int from,
			const struct iovec *iov, int iov_count, size_t len)
{
	struct sim_flow *flow = &conn->flows[from];
	assert(len > 0 && len <= gale__sim_flow_space(state, flow));
	assert(!flow->fin_sent && !flow->rst_sent);
	int rc = ring_reserve(flow, flow->len + len);
	if (rc < 0)
		return rc;
	ring_transfer(flow, flow->len, iov, iov_count, len, true);
	flow->len += len;
	flow->bytes_written += len;
	flow->hash_written = iov_hash(flow->hash_written, iov, iov_count, len);
	segment_send(state, conn, from, len, 0);
	return 0;
}

int gale__sim_flow_send_flags(struct gale_sim_state *state, struct sim_conn *conn, int from,
			      uint32_t flags)
{
	struct sim_flow *flow = &conn->flows[from];
	assert(flags == SIM_SEGMENT_FIN || flags == SIM_SEGMENT_RST);
	if (flags == SIM_SEGMENT_FIN) {
		if (flow->fin_sent || flow->rst_sent)
			return 0;
		flow->fin_sent = true;
	} else {
		if (flow->rst_sent)
			return 0;
		flow->rst_sent = true;
	}
	segment_send(state, conn, from, 0, flags);
	return 0;
}

size_t gale__sim_flow_read(struct gale_sim_state *state, struct sim_conn *conn, int to,
			   const struct iovec *iov, int iov_count, size_t len, bool peek)
{
	assert(to == 0 || to == 1);
	struct sim_flow *flow = &conn->flows[1 - to];
	size_t count = len < flow->delivered ? len : flow->delivered;
	assert(flow->delivered <= flow->len);
	if (count == 0)
		return 0;
	ring_transfer(flow, 0, iov, iov_count, count, false);
	if (peek)
		return count;
	flow->hash_read = iov_hash(flow->hash_read, iov, iov_count, count);
	flow->bytes_read += count;
	flow->delivered -= count;
	ring_discard_front(flow, count);
	integrity_check(state, conn, to);
	/* Space came back: the writer may see a WRITE edge. */
	gale__sim_endpoint_update(state, conn, 1 - to);
	return count;
}

void gale__sim_flow_drop_in_flight(struct gale_sim_state *state, struct sim_conn *conn,
				   int from)
{
	struct sim_flow *flow = &conn->flows[from];
	flow->len = flow->delivered;
	while (flow->segments.len > 0)
		gale__sim_fifo_pop(&flow->segments);
	gale__sim_endpoint_update(state, conn, from);
}

void gale__sim_flow_drop_delivered(struct gale_sim_state *state, struct sim_conn *conn, int to)
{
	struct sim_flow *flow = &conn->flows[1 - to];
	size_t count = flow->delivered;
	flow->delivered = 0;
	ring_discard_front(flow, count);
	gale__sim_endpoint_update(state, conn, 1 - to);
}
