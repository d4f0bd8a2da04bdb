/* SPDX-License-Identifier: MIT */
/*
 * TcpStream lifecycle, addresses, shutdown and socket options (tcp.h). Sits on AsyncFd;
 * every OS call is a gale_driver_*() wrapper on the runtime's driver.
 * The I/O paths live in tcp_stream_io.c, the halves in tcp_split.c.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <string.h>

#include <gale/driver.h>
#include <gale/error.h>
#include <gale/tcp.h>

#include "net_internal.h"

/* The driver of an open stream (not cached in the stream: no I/O path needs it). */
static struct gale_driver *stream_driver(const struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	assert(stream->priv_is_open);
	return gale_runtime_driver(gale_async_fd_runtime(&stream->priv_async_fd));
}

int gale_tcp_stream_from_fd(struct gale_tcp_stream *stream, struct gale_runtime *runtime, int fd)
{
	assert(stream != NULL);
	assert(runtime != NULL);
	*stream = (struct gale_tcp_stream){0};
	gale__tcp_stream_cache_clear(stream);
	/* On failure the cache stays clear: the stream reads as closed. */
	int rc = gale_async_fd_init(&stream->priv_async_fd, runtime, fd);
	if (rc == 0)
		gale__tcp_stream_cache_fill(stream);
	return rc;
}

void gale__tcp_stream_cache_fill(struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	int fd = gale_async_fd_fd(&stream->priv_async_fd);
	assert(fd >= 0);
	/* A TCP socket is a stream: short reads and writes prove what the driver says. */
	(void)gale_async_fd_stream_set(&stream->priv_async_fd);
	stream->priv_fd = fd;
	stream->priv_is_open = true;
}

void gale__tcp_stream_adopt(struct gale_tcp_stream *stream, struct gale_async_fd *async_fd)
{
	assert(stream != NULL && async_fd != NULL);
	assert(gale_async_fd_fd(async_fd) >= 0);
	assert(gale_async_fd_guards_live(async_fd) == 0);
	/* The reactor keeps no pointer into an AsyncFd (only its token), so it may move. */
	*stream = (struct gale_tcp_stream){.priv_async_fd = *async_fd};
	gale__tcp_stream_cache_fill(stream);
	/* A zeroed AsyncFd reads as closed. */
	*async_fd = (struct gale_async_fd){0};
}

int gale_tcp_stream_into_fd(struct gale_tcp_stream *stream, int *fd_out)
{
	assert(stream != NULL);
	assert(fd_out != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	if (stream->priv_is_split)
		return -EBUSY;
	gale__tcp_stream_cache_clear(stream);
	return gale_async_fd_into_inner(&stream->priv_async_fd, fd_out);
}

int gale_tcp_stream_close(struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	if (stream->priv_is_split)
		return -EBUSY;
	/* Not poisoned: a closed stream must keep answering GALE_E_CLOSED. */
	gale__tcp_stream_cache_clear(stream);
	return gale_async_fd_close(&stream->priv_async_fd);
}

bool gale_tcp_stream_is_open(const struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	return gale__tcp_stream_is_open(stream);
}

int gale_tcp_stream_fd(const struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	return gale__tcp_stream_is_open(stream) ? stream->priv_fd : -1;
}

struct gale_runtime *gale_tcp_stream_runtime(const struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	return gale_async_fd_runtime(&stream->priv_async_fd);
}

int gale__socket_addr_from_driver(const struct sockaddr_storage *storage, socklen_t len,
				  struct gale_socket_addr *addr_out)
{
	assert(storage != NULL);
	if (addr_out == NULL)
		return 0;
	return gale_socket_addr_from_sockaddr(storage, len, addr_out);
}

int gale__socket_addr_query(struct gale_driver *driver, int fd, gale__addr_query_fn *query,
			    struct gale_socket_addr *addr_out)
{
	assert(driver != NULL && query != NULL);
	struct sockaddr_storage storage;
	socklen_t len = sizeof(storage);
	int rc = query(driver, fd, &storage, &len);
	if (rc < 0)
		return rc;
	return gale__socket_addr_from_driver(&storage, len, addr_out);
}

/* local_addr and peer_addr: one query of an open stream's fd. */
static int stream_addr(const struct gale_tcp_stream *stream, gale__addr_query_fn *query,
		       struct gale_socket_addr *addr_out)
{
	assert(stream != NULL && addr_out != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	return gale__socket_addr_query(stream_driver(stream), stream->priv_fd, query, addr_out);
}

int gale_tcp_stream_local_addr(const struct gale_tcp_stream *stream,
			       struct gale_socket_addr *addr_out)
{
	return stream_addr(stream, gale_driver_addr_local, addr_out);
}

int gale_tcp_stream_peer_addr(const struct gale_tcp_stream *stream,
			      struct gale_socket_addr *addr_out)
{
	return stream_addr(stream, gale_driver_addr_peer, addr_out);
}

int gale_tcp_stream_take_error(struct gale_tcp_stream *stream, int *error_out)
{
	assert(stream != NULL && error_out != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	*error_out = gale_driver_socket_error_take(stream_driver(stream), stream->priv_fd);
	return 0;
}

int gale_tcp_stream_shutdown(struct gale_tcp_stream *stream, int how)
{
	assert(stream != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	if (how != GALE_SHUTDOWN_READ && how != GALE_SHUTDOWN_WRITE && how != GALE_SHUTDOWN_BOTH)
		return -EINVAL;
	int rc = gale_driver_shutdown(stream_driver(stream), gale_tcp_stream_fd(stream), how);
	/*
	 * -ENOTCONN on a stream that was connected means the connection is gone already: the
	 * peer reset it, or both sides finished (TCP_CLOSE). Every direction is then shut
	 * down as far as anyone can tell, so it is what was asked for, not an error (Tokio
	 * PR #7290, issue #4665). It also makes the answer independent of whether the last
	 * ACK arrived yet, which no caller can see.
	 */
	if (rc == -ENOTCONN)
		rc = 0;
	if (rc == 0 && how != GALE_SHUTDOWN_READ)
		stream->priv_is_write_shutdown = true;
	return rc;
}

/* ---- Socket options ------------------------------------------------------------------- */

static int stream_sockopt_set(struct gale_tcp_stream *stream, enum gale_sockopt opt, int value)
{
	assert(stream != NULL);
	assert((unsigned)opt < GALE_SOCKOPT_COUNT_);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	return gale_driver_sockopt_set(stream_driver(stream), gale_tcp_stream_fd(stream), opt,
				       value);
}

static int stream_sockopt_get(struct gale_tcp_stream *stream, enum gale_sockopt opt,
			      int *value_out)
{
	assert(stream != NULL && value_out != NULL);
	assert((unsigned)opt < GALE_SOCKOPT_COUNT_);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	return gale_driver_sockopt_get(stream_driver(stream), gale_tcp_stream_fd(stream), opt,
				       value_out);
}

int gale_tcp_stream_nodelay_set(struct gale_tcp_stream *stream, bool nodelay)
{
	return stream_sockopt_set(stream, GALE_SOCKOPT_NODELAY, nodelay ? 1 : 0);
}

int gale_tcp_stream_nodelay_get(struct gale_tcp_stream *stream, bool *nodelay_out)
{
	assert(nodelay_out != NULL);
	int value = 0;
	int rc = stream_sockopt_get(stream, GALE_SOCKOPT_NODELAY, &value);
	if (rc == 0)
		*nodelay_out = value != 0;
	return rc;
}

int gale_tcp_stream_linger_set(struct gale_tcp_stream *stream, int seconds)
{
	/* Checked here too, so every driver answers the same for a bad value. */
	if (seconds < -1)
		return gale__tcp_stream_is_open(stream) ? -EINVAL : GALE_E_CLOSED;
	return stream_sockopt_set(stream, GALE_SOCKOPT_LINGER, seconds);
}

int gale_tcp_stream_linger_get(struct gale_tcp_stream *stream, int *seconds_out)
{
	return stream_sockopt_get(stream, GALE_SOCKOPT_LINGER, seconds_out);
}

int gale_tcp_stream_ttl_set(struct gale_tcp_stream *stream, int ttl)
{
	if (ttl < 1 || ttl > 255)
		return gale__tcp_stream_is_open(stream) ? -EINVAL : GALE_E_CLOSED;
	return stream_sockopt_set(stream, GALE_SOCKOPT_TTL, ttl);
}

int gale_tcp_stream_ttl_get(struct gale_tcp_stream *stream, int *ttl_out)
{
	return stream_sockopt_get(stream, GALE_SOCKOPT_TTL, ttl_out);
}
