/* SPDX-License-Identifier: MIT */
/*
 * What a simulated socket reports about itself (beside sim_net.c): stored socket options
 * with the epoll driver's value ranges and Linux's read-back of buffer sizes, SO_ACCEPTCONN,
 * SO_ERROR, and local and peer addresses.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <limits.h>
#include <string.h>

#include "sim_internal.h"

#define TTL_DEFAULT 64

/*
 * Linux's bounds on SO_SNDBUF / SO_RCVBUF (sock_setsockopt): the value set is first
 * clamped to net.core.wmem_max / rmem_max (212992 by default on 64-bit kernels), then
 * doubled for the kernel's bookkeeping overhead, then raised to SOCK_MIN_SNDBUF /
 * SOCK_MIN_RCVBUF (x86_64 sizes: twice and once TCP_SKB_MIN_TRUESIZE, 2048 + 256).
 * getsockopt returns the result. sim.h documents these as the modelled bounds.
 */
#define SNDBUF_SET_MAX 212992 /* net.core.wmem_max default. */
#define RCVBUF_SET_MAX 212992 /* net.core.rmem_max default. */
#define SNDBUF_STORED_MIN 4608 /* SOCK_MIN_SNDBUF. */
#define RCVBUF_STORED_MIN 2304 /* SOCK_MIN_RCVBUF. */

void gale__sim_sockopts_default(const struct gale_sim_state *state, struct sim_fd *fd)
{
	assert(state != NULL && fd != NULL);
	size_t buf_size = state->options.socket_buf_size;
	int buf_value = buf_size > INT_MAX ? INT_MAX : (int)buf_size;
	fd->opts[GALE_SOCKOPT_NODELAY] = 0;
	fd->opts[GALE_SOCKOPT_REUSEADDR] = 0;
	fd->opts[GALE_SOCKOPT_KEEPALIVE] = 0;
	fd->opts[GALE_SOCKOPT_SNDBUF] = buf_value;
	fd->opts[GALE_SOCKOPT_RCVBUF] = buf_value;
	fd->opts[GALE_SOCKOPT_LINGER] = -1;
	fd->opts[GALE_SOCKOPT_TTL] = TTL_DEFAULT;
	fd->opts[GALE_SOCKOPT_V6ONLY] = 0;
	fd->opts[GALE_SOCKOPT_ACCEPTCONN] = 0; /* Unused: computed by sockopt_get. */
	fd->sndbuf_set = false;
	fd->rcvbuf_set = false;
}

/* 0 when fd is a socket that has opt, else -EBADF, -ENOTSOCK, -EINVAL or -ENOPROTOOPT. */
static int sockopt_check(const struct sim_fd *entry, enum gale_sockopt opt)
{
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	if ((unsigned)opt >= GALE_SOCKOPT_COUNT_)
		return -EINVAL;
	bool ip_only = opt == GALE_SOCKOPT_NODELAY || opt == GALE_SOCKOPT_TTL ||
		       opt == GALE_SOCKOPT_V6ONLY;
	if (entry->kind == SIM_FD_UNIX && ip_only)
		return -ENOPROTOOPT;
	if (opt == GALE_SOCKOPT_V6ONLY && entry->family != SIM_FAMILY_V6)
		return -ENOPROTOOPT;
	return 0;
}

/* What Linux stores (and getsockopt returns) for a buffer size set to value >= 0. */
static int buf_size_stored(enum gale_sockopt opt, int value)
{
	assert(opt == GALE_SOCKOPT_SNDBUF || opt == GALE_SOCKOPT_RCVBUF);
	assert(value >= 0);
	int set_max = opt == GALE_SOCKOPT_SNDBUF ? SNDBUF_SET_MAX : RCVBUF_SET_MAX;
	int stored_min = opt == GALE_SOCKOPT_SNDBUF ? SNDBUF_STORED_MIN : RCVBUF_STORED_MIN;
	int clamped = value < set_max ? value : set_max;
	return clamped * 2 > stored_min ? clamped * 2 : stored_min;
}

int gale__sim_op_sockopt_set(struct gale_sim_state *state, int fd, enum gale_sockopt opt,
			     int value)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = sockopt_check(entry, opt);
	if (rc < 0)
		return rc;
	if (!gale_sockopt_value_is_valid(opt, value))
		return -EINVAL;
	if (opt != GALE_SOCKOPT_SNDBUF && opt != GALE_SOCKOPT_RCVBUF) {
		entry->opts[opt] = value;
		return 0;
	}
	entry->opts[opt] = buf_size_stored(opt, value);
	if (opt == GALE_SOCKOPT_SNDBUF)
		entry->sndbuf_set = true;
	else
		entry->rcvbuf_set = true;
	/* The new size bounds the stream from now on (sim.h); writability may change. */
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	if (conn != NULL && (entry->kind == SIM_FD_UNIX || entry->tcp_state == SIM_TCP_CONNECTED ||
			     entry->tcp_state == SIM_TCP_CONNECTING)) {
		int side = entry->side;
		gale__sim_endpoint_bufs_take(state, conn, side, entry);
		gale__sim_endpoint_update(state, conn, side);
		gale__sim_endpoint_update(state, conn, 1 - side);
	}
	return 0;
}

int gale__sim_op_sockopt_get(struct gale_sim_state *state, int fd, enum gale_sockopt opt,
			     int *value_out)
{
	assert(value_out != NULL);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	int rc = sockopt_check(entry, opt);
	if (rc < 0)
		return rc;
	/* SO_ACCEPTCONN is state, not a stored value: true while listening. */
	if (opt == GALE_SOCKOPT_ACCEPTCONN)
		*value_out = entry->kind == SIM_FD_TCP && entry->tcp_state == SIM_TCP_LISTENING;
	else
		*value_out = entry->opts[opt];
	return 0;
}

int gale__sim_op_socket_error_take(struct gale_sim_state *state, int fd)
{
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	if (conn == NULL)
		return 0;
	int error = conn->ends[entry->side].error;
	conn->ends[entry->side].error = 0;
	return -error;
}

/* An unnamed AF_UNIX address: just the family (what getsockname says for a socketpair). */
static void unix_addr_format(struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	memset(addr_out, 0, sizeof(*addr_out));
	addr_out->ss_family = AF_UNIX;
	*addr_len_out = (socklen_t)sizeof(sa_family_t);
}

int gale__sim_op_addr_local(struct gale_sim_state *state, int fd,
			    struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	assert(addr_out != NULL && addr_len_out != NULL);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	if (entry->kind == SIM_FD_UNIX)
		unix_addr_format(addr_out, addr_len_out);
	else
		gale__sim_addr_format(state, &entry->local, addr_out, addr_len_out);
	return 0;
}

int gale__sim_op_addr_peer(struct gale_sim_state *state, int fd,
			   struct sockaddr_storage *addr_out, socklen_t *addr_len_out)
{
	assert(addr_out != NULL && addr_len_out != NULL);
	const struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->kind == SIM_FD_PIPE_READ || entry->kind == SIM_FD_PIPE_WRITE)
		return -ENOTSOCK;
	const struct sim_conn *conn = gale__sim_conn_get(state, entry->conn);
	if (entry->kind == SIM_FD_UNIX) {
		/* Even once the peer closed: Linux's unix_release_sock leaves the survivor's
		 * unix_peer set, so getpeername still names it (found by fuzz_differential). */
		unix_addr_format(addr_out, addr_len_out);
		return 0;
	}
	/* Connecting, refused, reset and finished sockets have no peer (Linux's inet_getname
	 * in TCP_SYN_SENT / TCP_CLOSE). */
	if (entry->tcp_state != SIM_TCP_CONNECTED ||
	    gale__sim_tcp_end_is_closed(conn, entry->side))
		return -ENOTCONN;
	gale__sim_addr_format(state, &conn->ends[1 - entry->side].addr, addr_out, addr_len_out);
	return 0;
}
