/* SPDX-License-Identifier: MIT */
/*
 * Simulated sockets (the sim's network layer, above sim_stream.c and sim_host.c): streams
 * and their lifetime, socket/bind/listen/connect/accept, the TCP handshake as scheduled
 * events, RST handling, shutdown and close, socketpairs and pipes.
 *
 * A stream (struct sim_conn) lives while either end is open; events name it by index and
 * generation, so an event for a released stream (or a reused slot) does nothing.
 * Handshake: connect schedules the SYN; SIM_EVENT_SYN finds the listener (or schedules a
 * refusal), SIM_EVENT_SYNACK makes the client writable, SIM_EVENT_ACK queues the server
 * end for accept. Sections: streams, resets, handshake, socket calls, close, pairs.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define BACKLOG_MAX 4096 /* SOMAXCONN. */

/* ---- Streams ------------------------------------------------------------------------- */

int gale__sim_conns_init(struct gale_sim_state *state)
{
	assert(state != NULL);
	state->conns = NULL;
	state->conns_cap = 0;
	state->conns_used = 0;
	state->conns_free_head = SIM_NONE;
	return 0;
}

void gale__sim_conns_deinit(struct gale_sim_state *state)
{
	assert(state != NULL);
	for (uint32_t i = 0; i < state->conns_used; i++) {
		struct sim_conn *conn = state->conns[i];
		gale__sim_flow_deinit(&conn->flows[0]);
		gale__sim_flow_deinit(&conn->flows[1]);
		free(conn);
	}
	free(state->conns);
	state->conns = NULL;
	state->conns_cap = 0;
	state->conns_used = 0;
}

struct sim_conn *gale__sim_conn_get(const struct gale_sim_state *state, uint32_t index)
{
	if (index >= state->conns_used)
		return NULL;
	struct sim_conn *conn = state->conns[index];
	return conn->is_live ? conn : NULL;
}

struct sim_conn *gale__sim_conn_of_event(const struct gale_sim_state *state,
					 const struct sim_event *event)
{
	struct sim_conn *conn = gale__sim_conn_get(state, event->index);
	return conn != NULL && conn->generation == event->serial ? conn : NULL;
}

/* A fresh slot (reusing released ones first) or NULL when memory runs out. */
static struct sim_conn *conn_slot(struct gale_sim_state *state)
{
	assert(state->conns_used <= state->conns_cap);
	if (state->conns_free_head != SIM_NONE) {
		assert(state->conns_free_head < state->conns_used);
		struct sim_conn *conn = state->conns[state->conns_free_head];
		state->conns_free_head = conn->free_next;
		return conn;
	}
	if (state->conns_used == state->conns_cap) {
		uint32_t cap = state->conns_cap == 0 ? 64 : state->conns_cap * 2;
		struct sim_conn **conns = realloc(state->conns, (size_t)cap * sizeof(*conns));
		if (conns == NULL)
			return NULL;
		state->conns = conns;
		state->conns_cap = cap;
	}
	struct sim_conn *conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return NULL;
	conn->index = state->conns_used;
	state->conns[state->conns_used++] = conn;
	return conn;
}

static struct sim_conn *conn_alloc(struct gale_sim_state *state, enum sim_conn_kind kind)
{
	struct sim_conn *conn = conn_slot(state);
	if (conn == NULL)
		return NULL;
	assert(!conn->is_live);
	assert(conn->index < state->conns_used && state->conns[conn->index] == conn);
	conn->generation++;
	conn->id = ++state->conn_id_next;
	conn->kind = (uint8_t)kind;
	conn->phase = kind == SIM_CONN_TCP ? SIM_PHASE_SYN_SENT : SIM_PHASE_ESTABLISHED;
	conn->listener_fd = -1;
	conn->listener_serial = 0;
	for (int side = 0; side < 2; side++) {
		conn->ends[side] = (struct sim_endpoint){.fd = -1};
		gale__sim_flow_init(&conn->flows[side]);
	}
	gale__sim_flow_limits_update(state, conn);
	conn->free_next = SIM_NONE;
	conn->is_live = true;
	return conn;
}

/* Releases the stream once neither end exists any more. */
static void conn_release_if_done(struct gale_sim_state *state, struct sim_conn *conn)
{
	assert(conn->is_live);
	if (conn->ends[0].is_open || conn->ends[1].is_open)
		return;
	gale__sim_flow_deinit(&conn->flows[0]);
	gale__sim_flow_deinit(&conn->flows[1]);
	conn->is_live = false;
	conn->generation++; /* Scheduled events for it are now leftovers. */
	conn->free_next = state->conns_free_head;
	state->conns_free_head = conn->index;
}

/* An end goes away: no fd, no reader; what it had not read is dropped. */
static void endpoint_close(struct gale_sim_state *state, struct sim_conn *conn, int side)
{
	conn->ends[side].is_open = false;
	conn->ends[side].fd = -1;
	gale__sim_flow_drop_delivered(state, conn, side);
}

/* ---- Resets -------------------------------------------------------------------------- */

void gale__sim_conn_reset_receive(struct gale_sim_state *state, struct sim_conn *conn, int side)
{
	struct sim_endpoint *end = &conn->ends[side];
	if (!end->is_open || end->reset)
		return;
	end->reset = true;
	/* Linux's tcp_reset: EPIPE in CLOSE_WAIT (the peer's FIN was read), else ECONNRESET. */
	end->error = end->fin_received ? EPIPE : ECONNRESET;
	state->stats.resets_count++;
	/* Nothing it sent can arrive anywhere any more. */
	gale__sim_flow_drop_in_flight(state, conn, side);
}

void gale__sim_conn_abort(struct gale_sim_state *state, struct sim_conn *conn)
{
	assert(conn->kind == SIM_CONN_TCP);
	gale__sim_flow_drop_in_flight(state, conn, 0);
	gale__sim_flow_drop_in_flight(state, conn, 1);
	for (int side = 0; side < 2; side++) {
		gale__sim_conn_reset_receive(state, conn, side);
		gale__sim_endpoint_update(state, conn, side);
	}
}

/* The server end goes away with a RST (listener closed, or gone before the ACK). */
static void server_end_abort(struct gale_sim_state *state, struct sim_conn *conn)
{
	endpoint_close(state, conn, 1);
	if (!conn->ends[1].reset)
		(void)gale__sim_flow_send_flags(state, conn, 1, SIM_SEGMENT_RST);
	conn_release_if_done(state, conn);
}

/* ---- Handshake ----------------------------------------------------------------------- */

static int tcp_schedule(struct gale_sim_state *state, struct sim_conn *conn, int from,
			int64_t depart_ns, enum sim_event_kind kind, uint16_t arg)
{
	int64_t arrival_ns = gale__sim_tcp_arrival_ns(state, conn, from, depart_ns);
	return gale__sim_clock_schedule(state, arrival_ns, kind, conn->index, conn->generation,
					arg);
}

/* The listener that took conn's SYN, if it still listens (its fd number may be reused). */
static struct sim_fd *conn_listener(const struct gale_sim_state *state,
				    const struct sim_conn *conn)
{
	struct sim_fd *fd = gale__sim_fd_get(state, conn->listener_fd);
	if (fd == NULL || fd->serial != conn->listener_serial ||
	    fd->tcp_state != SIM_TCP_LISTENING)
		return NULL;
	return fd;
}

/* Why a SYN to conn's destination is refused (a positive errno), or 0 with *listener_out. */
static int syn_verdict(struct gale_sim_state *state, const struct sim_conn *conn,
		       int *listener_out)
{
	assert(conn->kind == SIM_CONN_TCP && listener_out != NULL);
	struct sim_addr dest = conn->ends[1].addr;
	assert(dest.host != SIM_HOST_ANY);
	if (dest.host == SIM_HOST_UNKNOWN)
		return EHOSTUNREACH;
	int listener_fd = gale__sim_port_listener(state, dest);
	struct sim_fd *listener = gale__sim_fd_get(state, listener_fd);
	if (listener == NULL)
		return ECONNREFUSED;
	assert(listener->tcp_state == SIM_TCP_LISTENING && listener->listener != NULL);
	const struct sim_listener *queue = listener->listener;
	if (queue->accepts.len + queue->embryos_count >= queue->backlog)
		return ECONNREFUSED;
	if (gale__sim_fault(state, GALE_FAULT_CONNECT_REFUSED, listener_fd))
		return ECONNREFUSED;
	*listener_out = listener_fd;
	return 0;
}

void gale__sim_syn_fire(struct gale_sim_state *state, struct sim_conn *conn)
{
	assert(conn->kind == SIM_CONN_TCP && conn->phase == SIM_PHASE_SYN_SENT);
	int listener_fd = -1;
	int error = syn_verdict(state, conn, &listener_fd);
	if (error != 0) {
		/* The RST (or the ICMP error) travels back to the client. */
		if (tcp_schedule(state, conn, 1, state->now_ns, SIM_EVENT_REFUSE,
				 (uint16_t)error) < 0)
			gale__sim_refuse_fire(state, conn, error);
		return;
	}
	struct sim_fd *listener = gale__sim_fd_get(state, listener_fd);
	assert(listener != NULL && listener->listener != NULL);
	conn->phase = SIM_PHASE_SYN_RECEIVED;
	conn->listener_fd = listener_fd;
	conn->listener_serial = listener->serial;
	conn->ends[1].is_open = true; /* The embryo: an end without an fd yet. */
	gale__sim_endpoint_bufs_take(state, conn, 1, listener); /* Inherited at accept. */
	listener->listener->embryos_count++;
	if (tcp_schedule(state, conn, 1, state->now_ns, SIM_EVENT_SYNACK, 0) < 0)
		gale__sim_synack_fire(state, conn);
}

void gale__sim_refuse_fire(struct gale_sim_state *state, struct sim_conn *conn, int error)
{
	assert(error > 0);
	struct sim_endpoint *client = &conn->ends[0];
	conn->phase = SIM_PHASE_FAILED;
	if (!client->is_open) {
		conn_release_if_done(state, conn);
		return;
	}
	client->error = error;
	state->stats.connects_refused_count++;
	struct sim_fd *fd = gale__sim_fd_get(state, client->fd);
	assert(fd != NULL && fd->tcp_state == SIM_TCP_CONNECTING);
	fd->tcp_state = SIM_TCP_FAILED;
	gale__sim_fd_update(state, client->fd);
}

/* The handshake cannot finish: the server end is dropped (the client got its answer). */
static void embryo_drop(struct gale_sim_state *state, struct sim_conn *conn)
{
	struct sim_fd *listener = conn_listener(state, conn);
	if (listener != NULL) {
		assert(listener->listener->embryos_count > 0);
		listener->listener->embryos_count--;
	}
	endpoint_close(state, conn, 1);
	conn_release_if_done(state, conn);
}

void gale__sim_synack_fire(struct gale_sim_state *state, struct sim_conn *conn)
{
	assert(conn->phase == SIM_PHASE_SYN_RECEIVED);
	struct sim_endpoint *client = &conn->ends[0];
	if (!client->is_open) {
		embryo_drop(state, conn); /* The closed client answers the SYN-ACK with a RST. */
		return;
	}
	conn->phase = SIM_PHASE_ESTABLISHED;
	struct sim_fd *fd = gale__sim_fd_get(state, client->fd);
	assert(fd != NULL && fd->tcp_state == SIM_TCP_CONNECTING);
	fd->tcp_state = SIM_TCP_CONNECTED;
	state->stats.connections_count++;
	gale__sim_fd_update(state, client->fd);
	if (tcp_schedule(state, conn, 0, state->now_ns, SIM_EVENT_ACK, 0) < 0)
		gale__sim_ack_fire(state, conn);
}

void gale__sim_ack_fire(struct gale_sim_state *state, struct sim_conn *conn)
{
	assert(conn->phase == SIM_PHASE_ESTABLISHED && conn->ends[1].is_open);
	struct sim_fd *listener = conn_listener(state, conn);
	if (listener == NULL) {
		server_end_abort(state, conn); /* The listener closed during the handshake. */
		return;
	}
	struct sim_listener *queue = listener->listener;
	assert(queue->embryos_count > 0);
	queue->embryos_count--;
	if (gale__sim_fifo_push(&queue->accepts, &conn->index) < 0) {
		server_end_abort(state, conn);
		return;
	}
	gale__sim_fd_update(state, conn->listener_fd);
}

/* ---- Socket calls -------------------------------------------------------------------- */

int gale__sim_op_socket(struct gale_sim_state *state, int domain, int type, int protocol)
{
	assert(state != NULL);
	uint8_t family;
	if (domain == AF_INET)
		family = SIM_FAMILY_V4;
	else if (domain == AF_INET6)
		family = SIM_FAMILY_V6;
	else
		return -EAFNOSUPPORT;
	if (type != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP))
		return -EPROTONOSUPPORT;
	int fd;
	int rc = gale__sim_fd_alloc(state, SIM_FD_TCP, &fd);
	if (rc < 0)
		return rc;
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && entry->kind == SIM_FD_TCP);
	entry->family = family;
	entry->local.family = family;
	entry->tcp_state = SIM_TCP_NEW;
	return fd;
}

/* The socket-ness checks shared by bind, listen and connect: 0 or -errno. */
static int tcp_fd_check(const struct sim_fd *entry, int unix_error)
{
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	if (entry->kind == SIM_FD_UNIX)
		return unix_error;
	return 0;
}

int gale__sim_op_bind(struct gale_sim_state *state, int fd, const struct sockaddr *addr,
		      socklen_t addr_len)
{
	assert(addr != NULL);
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = tcp_fd_check(entry, -EINVAL);
	if (rc < 0)
		return rc;
	if (entry->is_bound || entry->tcp_state != SIM_TCP_NEW)
		return -EINVAL;
	struct sim_addr local;
	rc = gale__sim_addr_parse(state, entry->family, addr, addr_len, &local);
	if (rc < 0)
		return rc;
	rc = gale__sim_port_bind(state, fd, local);
	if (rc < 0)
		return rc == -ENOMEM ? -EADDRNOTAVAIL : rc; /* bind(2) has no ENOMEM. */
	assert(entry->is_bound);
	entry->tcp_state = SIM_TCP_BOUND;
	return 0;
}

int gale__sim_op_listen(struct gale_sim_state *state, int fd, int backlog)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = tcp_fd_check(entry, -EINVAL);
	if (rc < 0)
		return rc;
	uint32_t admitted = backlog < 0 || backlog > BACKLOG_MAX ? BACKLOG_MAX
				: backlog == 0	 ? 1
						 : (uint32_t)backlog;
	if (entry->tcp_state == SIM_TCP_LISTENING) {
		entry->listener->backlog = admitted; /* listen() again: a new backlog. */
		return 0;
	}
	if (entry->tcp_state != SIM_TCP_NEW && entry->tcp_state != SIM_TCP_BOUND)
		return -EINVAL;
	struct sim_listener *listener = calloc(1, sizeof(*listener));
	if (listener == NULL)
		return -EINVAL; /* The sim's own memory: the kernel has no such case. */
	bool bound_here = !entry->is_bound;
	if (bound_here) {
		/* Like Linux, listening unbound takes an ephemeral port on the wildcard. */
		struct sim_addr any = {.host = SIM_HOST_ANY, .family = entry->family};
		rc = gale__sim_port_bind(state, fd, any);
	}
	if (rc == 0)
		rc = gale__sim_port_listen(state, fd);
	if (rc < 0) {
		if (bound_here)
			gale__sim_port_unbind(state, fd);
		free(listener);
		return rc == -EADDRINUSE ? rc : -EINVAL; /* The sim's own memory ran out. */
	}
	assert(entry->is_bound && admitted > 0);
	gale__sim_fifo_init(&listener->accepts, sizeof(uint32_t));
	listener->backlog = admitted;
	entry->listener = listener;
	entry->tcp_state = SIM_TCP_LISTENING;
	return 0;
}

/* The source host for a connect: the bound address, else localhost for loopback, else the
 * first host added with the family. Returns 0 or -ENETUNREACH. */
static int source_pick(const struct gale_sim_state *state, const struct sim_fd *entry,
		       struct sim_addr dest, uint16_t *host_out)
{
	assert(entry->kind == SIM_FD_TCP && host_out != NULL);
	assert(dest.host != SIM_HOST_ANY);
	if (entry->is_bound && entry->local.host != SIM_HOST_ANY) {
		*host_out = entry->local.host;
		return 0;
	}
	if (dest.host == 0) {
		*host_out = 0;
		return 0;
	}
	for (uint32_t host = 1; host < state->hosts_count; host++) {
		if (gale__sim_host_has_family(state, host, entry->family)) {
			*host_out = (uint16_t)host;
			return 0;
		}
	}
	return -ENETUNREACH;
}

/* A connect that failed before (refused): the socket may try again, as on Linux. */
static void connect_forget_failure(struct gale_sim_state *state, struct sim_fd *entry)
{
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL && entry->side == 0);
	conn->ends[0].is_open = false;
	conn->ends[0].fd = -1;
	conn_release_if_done(state, conn);
	entry->conn = SIM_NONE;
	entry->tcp_state = entry->is_bound ? SIM_TCP_BOUND : SIM_TCP_NEW;
}

/* Source address, stream and SYN for a connect the checks allowed. */
static int connect_start(struct gale_sim_state *state, int fd, struct sim_addr dest)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && entry->conn == SIM_NONE);
	uint16_t source_host;
	int rc = source_pick(state, entry, dest, &source_host);
	if (rc < 0)
		return rc;
	struct sim_conn *conn = conn_alloc(state, SIM_CONN_TCP);
	if (conn == NULL)
		return -EADDRNOTAVAIL; /* The sim's own memory; the nearest kernel answer. */
	if (!entry->is_bound) {
		struct sim_addr source = {.host = source_host, .family = entry->family};
		rc = gale__sim_port_bind(state, fd, source);
	}
	if (rc < 0) {
		conn_release_if_done(state, conn);
		return -EADDRNOTAVAIL; /* Ephemeral ports (or the sim's memory) ran out. */
	}
	assert(entry->is_bound);
	entry->local.host = source_host;
	conn->ends[0] = (struct sim_endpoint){.fd = fd, .is_open = true, .addr = entry->local};
	conn->ends[1].addr = dest;
	gale__sim_endpoint_bufs_take(state, conn, 0, entry);
	entry->conn = conn->index;
	entry->side = 0;
	entry->tcp_state = SIM_TCP_CONNECTING;
	const struct gale_fault_profile *profile = state->options.profile;
	int64_t depart_ns = state->now_ns;
	if (profile != NULL && profile->connect_delay_ns_max > 0 &&
	    gale__sim_fault(state, GALE_FAULT_CONNECT_SLOW, fd))
		depart_ns += gale__sim_range(state, 1, profile->connect_delay_ns_max);
	if (tcp_schedule(state, conn, 0, depart_ns, SIM_EVENT_SYN, 0) < 0)
		gale__sim_syn_fire(state, conn);
	return -EINPROGRESS;
}

int gale__sim_op_connect(struct gale_sim_state *state, int fd, const struct sockaddr *addr,
			 socklen_t addr_len)
{
	assert(addr != NULL);
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = tcp_fd_check(entry, -EISCONN);
	if (rc < 0)
		return rc;
	if (entry->tcp_state == SIM_TCP_CONNECTING)
		return -EALREADY;
	if (entry->tcp_state == SIM_TCP_CONNECTED || entry->tcp_state == SIM_TCP_LISTENING)
		return -EISCONN;
	struct sim_addr dest;
	rc = gale__sim_addr_parse(state, entry->family, addr, addr_len, &dest);
	if (rc < 0)
		return rc;
	if (dest.host == SIM_HOST_ANY)
		dest.host = 0; /* Linux connects to the wildcard address on loopback. */
	if (entry->tcp_state == SIM_TCP_FAILED)
		connect_forget_failure(state, entry);
	return connect_start(state, fd, dest);
}

/* The accepted socket for conn's server end; 0 with *fd_out, or -EMFILE / -ENOMEM. */
static int accept_fd_make(struct gale_sim_state *state, int listener_fd,
			  const struct sim_conn *conn, int *fd_out)
{
	int fd;
	int rc = gale__sim_fd_alloc(state, SIM_FD_TCP, &fd);
	if (rc < 0)
		return rc;
	/* Fetched after the allocation, which may move the table. */
	const struct sim_fd *listener = gale__sim_fd_get(state, listener_fd);
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(listener != NULL && listener->tcp_state == SIM_TCP_LISTENING);
	assert(entry != NULL && conn->ends[1].is_open);
	memcpy(entry->opts, listener->opts, sizeof(entry->opts)); /* Inherited, as on Linux. */
	entry->sndbuf_set = listener->sndbuf_set;
	entry->rcvbuf_set = listener->rcvbuf_set;
	entry->family = listener->family;
	rc = gale__sim_port_hold(state, fd, conn->ends[1].addr,
				 listener->opts[GALE_SOCKOPT_REUSEADDR] != 0);
	if (rc < 0) {
		gale__sim_fd_release(state, fd);
		return rc;
	}
	entry->tcp_state = SIM_TCP_CONNECTED;
	entry->conn = conn->index;
	entry->side = 1;
	*fd_out = fd;
	return 0;
}

int gale__sim_op_accept(struct gale_sim_state *state, int fd, struct sockaddr_storage *addr_out,
			socklen_t *addr_len_out)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = tcp_fd_check(entry, -EINVAL);
	if (rc < 0)
		return rc;
	if (entry->tcp_state != SIM_TCP_LISTENING)
		return -EINVAL;
	if (entry->listener->accepts.len == 0)
		return -EAGAIN;
	/* Both faults leave the connection queued; a fresh READ event follows, because a
	 * kernel never loses readiness and the caller may wait for an edge now. */
	if (gale__sim_fault(state, GALE_FAULT_ACCEPT_EMFILE, fd)) {
		gale__sim_fd_rearm(state, fd, GALE_READY_READ);
		return -EMFILE;
	}
	if (gale__sim_fault(state, GALE_FAULT_READ_WOULD_BLOCK, fd)) {
		gale__sim_fd_rearm(state, fd, GALE_READY_READ);
		return -EAGAIN;
	}
	uint32_t index = *(const uint32_t *)gale__sim_fifo_at(&entry->listener->accepts, 0);
	struct sim_conn *conn = gale__sim_conn_get(state, index);
	assert(conn != NULL && conn->ends[1].is_open && conn->ends[1].fd < 0);
	int accepted;
	rc = accept_fd_make(state, fd, conn, &accepted);
	if (rc < 0)
		return rc;
	entry = gale__sim_fd_get(state, fd);
	gale__sim_fifo_pop(&entry->listener->accepts);
	conn->ends[1].fd = accepted;
	if (addr_out != NULL)
		gale__sim_addr_format(state, &conn->ends[0].addr, addr_out, addr_len_out);
	return accepted;
}

/* ---- Shutdown and close -------------------------------------------------------------- */

static void listener_close(struct gale_sim_state *state, struct sim_fd *entry);

/*
 * inet_shutdown() on TCP_LISTEN: shutting the write side does nothing; shutting the read
 * side stops listening (tcp_disconnect: queued connections are reset) and leaves a bound
 * socket in TCP_CLOSE, which may listen again. Always 0. The port is kept (see sim.h).
 */
static int listener_shutdown(struct gale_sim_state *state, int fd, int how)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && entry->tcp_state == SIM_TCP_LISTENING);
	if (how == GALE_SHUTDOWN_WRITE)
		return 0;
	listener_close(state, entry);
	entry = gale__sim_fd_get(state, fd);
	struct sim_addr local = entry->local;
	bool reuse = entry->bound_reuse;
	/* Held again without the listener mark (the port map keeps no other trace of it). */
	gale__sim_port_unbind(state, fd);
	entry->tcp_state = gale__sim_port_hold(state, fd, local, reuse) == 0 ? SIM_TCP_BOUND
									      : SIM_TCP_NEW;
	gale__sim_fd_update(state, fd);
	return 0;
}

/* True when the FIN ends[side] queued has reached the other end: no segment in flight
 * carries it any more (only a RST may follow a FIN, and an abort drops both). */
static bool fin_arrived(const struct sim_conn *conn, int side)
{
	const struct sim_flow *flow = &conn->flows[side];
	if (!flow->fin_sent)
		return false;
	for (uint32_t i = 0; i < flow->segments.len; i++) {
		const struct sim_segment *segment = gale__sim_fifo_at(&flow->segments, i);
		if ((segment->flags & SIM_SEGMENT_FIN) != 0)
			return false;
	}
	return true;
}

/*
 * Linux's TCP_CLOSE for a socket still open: after a RST, or once both FINs are through
 * (FIN_WAIT2 + the peer's FIN ends in TIME_WAIT, LAST_ACK ends with the ACK of our FIN;
 * either way the socket itself is TCP_CLOSE). The sim has no ACKs: our FIN arriving
 * stands for its ACK coming back, one latency early.
 */
bool gale__sim_tcp_end_is_closed(const struct sim_conn *conn, int side)
{
	const struct sim_endpoint *end = &conn->ends[side];
	if (end->reset)
		return true;
	return conn->kind == SIM_CONN_TCP && end->fin_received && fin_arrived(conn, side);
}

int gale__sim_op_shutdown(struct gale_sim_state *state, int fd, int how)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	if (how < GALE_SHUTDOWN_READ || how > GALE_SHUTDOWN_BOTH)
		return -EINVAL;
	if (entry->kind == SIM_FD_TCP && entry->tcp_state == SIM_TCP_LISTENING)
		return listener_shutdown(state, fd, how);
	if (entry->kind == SIM_FD_TCP && entry->tcp_state != SIM_TCP_CONNECTED)
		return -ENOTCONN;
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	int side = entry->side;
	struct sim_endpoint *end = &conn->ends[side];
	if (gale__sim_tcp_end_is_closed(conn, side))
		return -ENOTCONN; /* inet_shutdown() on TCP_CLOSE, whatever how is. */
	if (how != GALE_SHUTDOWN_WRITE) {
		end->rcv_shutdown = true;
		/* AF_UNIX tells the peer at once: its writes now fail with EPIPE. */
		if (conn->kind == SIM_CONN_UNIX && conn->ends[1 - side].is_open) {
			conn->ends[1 - side].snd_shutdown = true;
			gale__sim_endpoint_update(state, conn, 1 - side);
		}
	}
	if (how != GALE_SHUTDOWN_READ && !end->snd_shutdown) {
		end->snd_shutdown = true;
		(void)gale__sim_flow_send_flags(state, conn, side, SIM_SEGMENT_FIN);
	}
	return 0;
}

static void listener_close(struct gale_sim_state *state, struct sim_fd *entry)
{
	struct sim_listener *listener = entry->listener;
	assert(listener != NULL);
	entry->listener = NULL;
	/* Queued connections are reset; embryos find the listener gone at their ACK. */
	while (listener->accepts.len > 0) {
		uint32_t index = *(const uint32_t *)gale__sim_fifo_at(&listener->accepts, 0);
		gale__sim_fifo_pop(&listener->accepts);
		struct sim_conn *conn = gale__sim_conn_get(state, index);
		assert(conn != NULL);
		server_end_abort(state, conn);
	}
	gale__sim_fifo_deinit(&listener->accepts);
	free(listener);
}

/* Linux's tcp_close: a RST when unread bytes remain (or SO_LINGER is 0), else a FIN. */
static void tcp_close_connected(struct gale_sim_state *state, struct sim_fd *entry)
{
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	int side = entry->side;
	bool abortive = conn->flows[1 - side].delivered > 0 ||
			entry->opts[GALE_SOCKOPT_LINGER] == 0;
	/* In TCP_CLOSE (reset, or both FINs through) Linux sends nothing, unread bytes or
	 * not (found by fuzz_differential). */
	bool was_closed = gale__sim_tcp_end_is_closed(conn, side);
	endpoint_close(state, conn, side);
	if (!was_closed)
		(void)gale__sim_flow_send_flags(state, conn, side,
						abortive ? SIM_SEGMENT_RST : SIM_SEGMENT_FIN);
	conn_release_if_done(state, conn);
}

static void tcp_close(struct gale_sim_state *state, int fd, struct sim_fd *entry)
{
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	switch (entry->tcp_state) {
	case SIM_TCP_LISTENING:
		listener_close(state, entry);
		break;
	case SIM_TCP_CONNECTING:
	case SIM_TCP_FAILED:
		/* An embryo on the server side learns it at the SYN-ACK. */
		assert(conn != NULL && entry->side == 0);
		conn->ends[0].is_open = false;
		conn->ends[0].fd = -1;
		conn_release_if_done(state, conn);
		break;
	case SIM_TCP_CONNECTED:
		tcp_close_connected(state, entry);
		break;
	default:
		break;
	}
	gale__sim_port_unbind(state, fd);
}

/* AF_UNIX: the peer's writes fail at once, its reads end after the bytes; ECONNRESET
 * first if this end left bytes unread (Linux's unix_release_sock). */
static void unix_close(struct gale_sim_state *state, struct sim_fd *entry)
{
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	int side = entry->side;
	struct sim_endpoint *peer = &conn->ends[1 - side];
	bool unread = conn->flows[1 - side].delivered > 0;
	endpoint_close(state, conn, side);
	if (peer->is_open) {
		peer->snd_shutdown = true;
		if (unread)
			peer->error = ECONNRESET;
		(void)gale__sim_flow_send_flags(state, conn, side, SIM_SEGMENT_FIN);
		gale__sim_endpoint_update(state, conn, 1 - side);
	}
	conn_release_if_done(state, conn);
}

static void pipe_close(struct gale_sim_state *state, struct sim_fd *entry)
{
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	int side = entry->side;
	endpoint_close(state, conn, side);
	/* The writer going away is the reader's end of file; the reader going away makes
	 * the writer's next write fail with EPIPE (its readiness shows ERROR). */
	if (side == 0 && conn->ends[1].is_open)
		(void)gale__sim_flow_send_flags(state, conn, 0, SIM_SEGMENT_FIN);
	gale__sim_endpoint_update(state, conn, 1 - side);
	conn_release_if_done(state, conn);
}

int gale__sim_op_close(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	/* As closing the last reference does for epoll: the registration goes too. */
	gale__sim_registration_drop(state, fd);
	assert(entry->reg.serial == 0 && state->fds_open_count > 0);
	if (entry->kind == SIM_FD_TCP)
		tcp_close(state, fd, entry);
	else if (entry->kind == SIM_FD_UNIX)
		unix_close(state, entry);
	else
		pipe_close(state, entry);
	gale__sim_fd_release(state, fd);
	return 0;
}

/* ---- Socketpairs and pipes ----------------------------------------------------------- */

/* Two fds joined by one stream: ends[i] gets an fd of kinds[i]. */
static int pair_make(struct gale_sim_state *state, enum sim_conn_kind kind,
		     const enum sim_fd_kind kinds[2], int ends_fds_out[2])
{
	/* The end the caller hands out first gets the lower number (a pipe's reading end). */
	int first = kind == SIM_CONN_PIPE ? 1 : 0;
	int fds[2];
	int rc = gale__sim_fd_alloc(state, kinds[first], &fds[first]);
	if (rc < 0)
		return rc;
	rc = gale__sim_fd_alloc(state, kinds[1 - first], &fds[1 - first]);
	if (rc < 0)
		goto out_release_first;
	struct sim_conn *conn = conn_alloc(state, kind);
	if (conn == NULL) {
		rc = -ENOMEM;
		goto out_release_both;
	}
	assert(conn->kind == kind && fds[0] != fds[1]);
	for (int side = 0; side < 2; side++) {
		struct sim_fd *entry = gale__sim_fd_get(state, fds[side]);
		entry->conn = conn->index;
		entry->side = (uint8_t)side;
		conn->ends[side].fd = fds[side];
		conn->ends[side].is_open = true;
		ends_fds_out[side] = fds[side];
	}
	return 0;

out_release_both:
	gale__sim_fd_release(state, fds[1 - first]);
out_release_first:
	gale__sim_fd_release(state, fds[first]);
	return rc;
}

int gale__sim_op_socketpair(struct gale_sim_state *state, int fds_out[2])
{
	assert(fds_out != NULL);
	static const enum sim_fd_kind kinds[2] = {SIM_FD_UNIX, SIM_FD_UNIX};
	return pair_make(state, SIM_CONN_UNIX, kinds, fds_out);
}

int gale__sim_op_pipe(struct gale_sim_state *state, int fds_out[2])
{
	assert(fds_out != NULL);
	/* ends[0] writes, ends[1] reads; pipe() hands out the reading end first. */
	static const enum sim_fd_kind kinds[2] = {SIM_FD_PIPE_WRITE, SIM_FD_PIPE_READ};
	int ends_fds[2];
	int rc = pair_make(state, SIM_CONN_PIPE, kinds, ends_fds);
	if (rc < 0)
		return rc == -EMFILE ? rc : -ENFILE; /* pipe() has no ENOMEM. */
	fds_out[0] = ends_fds[1];
	fds_out[1] = ends_fds[0];
	return 0;
}
