/* SPDX-License-Identifier: MIT */
/* Private declarations shared by net/ sources only (gale__ symbols). Never installed. */
#ifndef GALE_NET_SRC_NET_INTERNAL_H
#define GALE_NET_SRC_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <gale/async_fd.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

/* The stream's AsyncFd, for the other net/ files. */
static inline struct gale_async_fd *gale__tcp_stream_async_fd(struct gale_tcp_stream *stream)
{
	return &stream->priv_async_fd;
}

/* True while the stream owns an open registration (a zeroed stream is closed). */
static inline bool gale__tcp_stream_is_open(const struct gale_tcp_stream *stream)
{
	return stream->priv_is_open;
}

/* Caches what the I/O paths need from the AsyncFd (set after init or adopt). */
void gale__tcp_stream_cache_fill(struct gale_tcp_stream *stream);

/* Forgets the cache: the stream reads as closed. */
static inline void gale__tcp_stream_cache_clear(struct gale_tcp_stream *stream)
{
	stream->priv_is_open = false;
	stream->priv_fd = -1;
}

/*
 * Fills stream from an AsyncFd that is already registered (a connect that completed):
 * the registration moves, readiness observed so far included. async_fd reads as closed
 * afterwards. Nothing can fail: no call is made.
 */
void gale__tcp_stream_adopt(struct gale_tcp_stream *stream, struct gale_async_fd *async_fd);

/*
 * Converts what the driver's accept/addr_local/addr_peer wrote. addr_out may be NULL (the
 * caller does not want it). 0 or -EAFNOSUPPORT / -EINVAL.
 */
int gale__socket_addr_from_driver(const struct sockaddr_storage *storage, socklen_t len,
				  struct gale_socket_addr *addr_out);

/* An address query of the driver's: gale_driver_addr_local or gale_driver_addr_peer. */
typedef int gale__addr_query_fn(struct gale_driver *driver, int fd,
				struct sockaddr_storage *addr_out, socklen_t *addr_len_out);

/* Asks query about fd and converts the answer (gale__socket_addr_from_driver()). 0, the
 * driver's error, or -EAFNOSUPPORT / -EINVAL. */
int gale__socket_addr_query(struct gale_driver *driver, int fd, gale__addr_query_fn *query,
			    struct gale_socket_addr *addr_out);

/*
 * Yields instead of spinning: wakes cx's waker and reports GALE_PENDING, so the executor
 * polls again after the other runnable tasks. Used when readiness stays set (hang-up and
 * error bits are final) but the driver keeps answering -EAGAIN, which only a faulty or
 * fault-injecting driver does.
 */
int gale__tcp_yield(struct gale_cx *cx);

#endif /* GALE_NET_SRC_NET_INTERNAL_H */
