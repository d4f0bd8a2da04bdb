/* SPDX-License-Identifier: MIT */
/*
 * Byte I/O on virtual fds (between the driver ops and sim_stream.c): the order in which
 * data, end of stream and errors are reported per kind of fd (each as Linux orders them),
 * and the I/O faults: WouldBlock while ready (followed by a fresh readiness event), short
 * reads and partial writes. read/recv/readv share one path, as do write/send/writev.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include "sim_internal.h"

/* Total bytes of the iovecs: 0 with *len_out, or -EINVAL (bad count, overflow). */
static int iov_len(const struct iovec *iov, int iov_count, size_t *len_out)
{
	if (iov_count < 0 || iov_count > SIM_IOV_MAX || (iov == NULL && iov_count > 0))
		return -EINVAL;
	size_t len = 0;
	for (int i = 0; i < iov_count; i++) {
		bool bad_base = iov[i].iov_base == NULL && iov[i].iov_len > 0;
		if (iov[i].iov_len > SIZE_MAX - len || bad_base)
			return -EINVAL;
		len += iov[i].iov_len;
	}
	*len_out = len;
	return 0;
}

static bool fd_is_pipe(const struct sim_fd *entry)
{
	return entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE;
}

/* ---- Reading ------------------------------------------------------------------------- */

/* Nothing to read: end of stream (0), the pending error, or -EAGAIN, in the kernel's order. */
static ssize_t read_nothing(struct gale_sim_state *state, const struct sim_fd *entry,
			    struct sim_conn *conn)
{
	assert(entry->kind != SIM_FD_PIPE_WRITE);
	assert(conn->flows[1 - entry->side].delivered == 0);
	struct sim_endpoint *end = &conn->ends[entry->side];
	int error = end->error;
	bool eof = end->fin_received || end->rcv_shutdown || end->reset;
	/* TCP reports a FIN it read before a later error (SOCK_DONE is checked first);
	 * AF_UNIX reports the error first (unix_stream_read_generic). */
	bool error_first = entry->kind == SIM_FD_UNIX ||
			   (entry->kind == SIM_FD_TCP && !end->fin_received);
	if (error != 0 && error_first) {
		end->error = 0;
		return -error;
	}
	if (!eof)
		return -EAGAIN;
	if (end->fin_received)
		gale__sim_flow_check_eof(state, conn, entry->side);
	return 0;
}

static ssize_t stream_read(struct gale_sim_state *state, int fd, const struct iovec *iov,
			   int iov_count, size_t len, bool peek)
{
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	size_t available = conn->flows[1 - entry->side].delivered;
	if (len == 0)
		return 0;
	if (available == 0)
		return read_nothing(state, entry, conn);
	if (gale__sim_fault(state, GALE_FAULT_READ_WOULD_BLOCK, fd)) {
		/* The caller will clear readiness and wait for an edge: give it one. */
		gale__sim_fd_rearm(state, fd, GALE_READY_READ);
		return -EAGAIN;
	}
	size_t count = len < available ? len : available;
	if (count >= 2 && gale__sim_fault(state, GALE_FAULT_READ_SHORT, fd))
		count = (size_t)gale__sim_range(state, 1, (int64_t)count - 1);
	return (ssize_t)gale__sim_flow_read(state, conn, entry->side, iov, iov_count, count, peek);
}

ssize_t gale__sim_op_readv(struct gale_sim_state *state, int fd, const struct iovec *iov,
			   int iov_count, uint32_t flags, bool is_socket_call)
{
	assert(state != NULL);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	size_t len;
	if (iov_len(iov, iov_count, &len) < 0 || (flags & ~GALE_RECV_PEEK) != 0)
		return -EINVAL;
	if (is_socket_call && fd_is_pipe(entry))
		return -ENOTSOCK;
	if (entry->kind == SIM_FD_PIPE_WRITE)
		return -EBADF; /* The writing end of a pipe is not open for reading. */
	assert(entry->conn != SIM_NONE || entry->kind == SIM_FD_TCP);
	if (entry->kind == SIM_FD_TCP) {
		switch (entry->tcp_state) {
		case SIM_TCP_CONNECTING:
			return len == 0 ? 0 : -EAGAIN;
		case SIM_TCP_CONNECTED:
			break;
		default:
			/* Not connected, listening, or refused (ECONNREFUSED is SO_ERROR's). */
			return -ENOTCONN;
		}
	}
	return stream_read(state, fd, iov, iov_count, len, (flags & GALE_RECV_PEEK) != 0);
}

/* ---- Writing ------------------------------------------------------------------------- */

/* Why a write cannot send now (-errno), or 0 when it may. Consumes a pending TCP error. */
static int write_refusal(const struct sim_fd *entry, struct sim_conn *conn)
{
	struct sim_endpoint *end = &conn->ends[entry->side];
	switch (entry->kind) {
	case SIM_FD_TCP:
		/* tcp_sendmsg: a pending error wins (and is consumed), then EPIPE. */
		if (end->error != 0) {
			int error = end->error;
			end->error = 0;
			return -error;
		}
		return end->snd_shutdown || end->reset ? -EPIPE : 0;
	case SIM_FD_UNIX:
		return end->snd_shutdown || !conn->ends[1 - entry->side].is_open ? -EPIPE : 0;
	default:
		assert(entry->kind == SIM_FD_PIPE_WRITE);
		return conn->ends[1].is_open ? 0 : -EPIPE;
	}
}

static ssize_t stream_write(struct gale_sim_state *state, int fd, const struct iovec *iov,
			    int iov_count, size_t len)
{
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	assert(conn != NULL);
	int rc = write_refusal(entry, conn);
	if (rc < 0 || len == 0)
		return rc;
	size_t space = gale__sim_flow_space(state, &conn->flows[entry->side]);
	if (space == 0)
		return -EAGAIN; /* Backpressure, not a fault: the WRITE edge comes with space. */
	if (gale__sim_fault(state, GALE_FAULT_WRITE_WOULD_BLOCK, fd)) {
		gale__sim_fd_rearm(state, fd, GALE_READY_WRITE);
		return -EAGAIN;
	}
	size_t count = len < space ? len : space;
	if (count >= 2 && gale__sim_fault(state, GALE_FAULT_WRITE_PARTIAL, fd))
		count = (size_t)gale__sim_range(state, 1, (int64_t)count - 1);
	rc = gale__sim_flow_send(state, conn, entry->side, iov, iov_count, count);
	if (rc < 0)
		return -EIO; /* The sim's own memory ran out: a hard I/O error. */
	return (ssize_t)count;
}

ssize_t gale__sim_op_writev(struct gale_sim_state *state, int fd, const struct iovec *iov,
			    int iov_count, bool is_socket_call)
{
	assert(state != NULL);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	size_t len;
	if (iov_len(iov, iov_count, &len) < 0)
		return -EINVAL;
	if (is_socket_call && fd_is_pipe(entry))
		return -ENOTSOCK;
	if (entry->kind == SIM_FD_PIPE_READ)
		return -EBADF; /* The reading end of a pipe is not open for writing. */
	assert(entry->conn != SIM_NONE || entry->kind == SIM_FD_TCP);
	if (entry->kind == SIM_FD_TCP) {
		switch (entry->tcp_state) {
		case SIM_TCP_CONNECTING:
			return -EAGAIN; /* sk_stream_wait_connect with no time to wait. */
		case SIM_TCP_CONNECTED:
			break;
		default:
			return -EPIPE; /* Linux's tcp_sendmsg on a socket that is not connected. */
		}
	}
	return stream_write(state, fd, iov, iov_count, len);
}
