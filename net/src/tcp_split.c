/* SPDX-License-Identifier: MIT */
/*
 * TcpStream halves (tcp.h): borrowed views through gale_split, and owned halves that share
 * the caller's stream as their core (a count of live halves instead of a heap-allocated,
 * reference-counted object: nothing is allocated, the caller keeps the core in place).
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/error.h>
#include <gale/split.h>
#include <gale/tcp.h>

#include "net_internal.h"

void gale_tcp_stream_split(struct gale_tcp_stream *stream, struct gale_split *split)
{
	assert(stream != NULL && split != NULL);
	/* The stream keeps a read waker and a write waker, so the halves need no fan-out. */
	gale_split_init(split, gale_tcp_stream_async_stream(stream),
			GALE_SPLIT_WAKERS_PER_DIRECTION);
}

int gale_tcp_stream_into_split(struct gale_tcp_stream *stream,
			       struct gale_tcp_owned_read_half *read_half_out,
			       struct gale_tcp_owned_write_half *write_half_out)
{
	assert(stream != NULL);
	assert(read_half_out != NULL && write_half_out != NULL);
	read_half_out->priv_stream = NULL;
	write_half_out->priv_stream = NULL;
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	if (stream->priv_is_split)
		return -EBUSY;
	stream->priv_is_split = true;
	stream->priv_halves_live = 2;
	read_half_out->priv_stream = stream;
	write_half_out->priv_stream = stream;
	return 0;
}

struct gale_async_read gale_tcp_owned_read_half_reader(struct gale_tcp_owned_read_half *half)
{
	assert(half != NULL && half->priv_stream != NULL);
	return gale_tcp_stream_reader(half->priv_stream);
}

struct gale_async_write gale_tcp_owned_write_half_writer(struct gale_tcp_owned_write_half *half)
{
	assert(half != NULL && half->priv_stream != NULL);
	return gale_tcp_stream_writer(half->priv_stream);
}

struct gale_tcp_stream *gale_tcp_owned_read_half_stream(const struct gale_tcp_owned_read_half *half)
{
	assert(half != NULL);
	return half->priv_stream;
}

struct gale_tcp_stream *
gale_tcp_owned_write_half_stream(const struct gale_tcp_owned_write_half *half)
{
	assert(half != NULL);
	return half->priv_stream;
}

/* One half is gone: the last one out closes the stream. */
static int owned_half_release(struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	assert(stream->priv_is_split && stream->priv_halves_live > 0);
	stream->priv_halves_live--;
	if (stream->priv_halves_live > 0)
		return 0;
	stream->priv_is_split = false;
	int rc = gale_tcp_stream_close(stream);
	/* Closed already (e.g. by a failed into_fd elsewhere) is not this half's error. */
	return rc == GALE_E_CLOSED ? 0 : rc;
}

int gale_tcp_owned_read_half_deinit(struct gale_tcp_owned_read_half *half)
{
	assert(half != NULL);
	struct gale_tcp_stream *stream = half->priv_stream;
	if (stream == NULL)
		return 0;
	half->priv_stream = NULL;
	return owned_half_release(stream);
}

int gale_tcp_owned_write_half_deinit(struct gale_tcp_owned_write_half *half)
{
	assert(half != NULL);
	struct gale_tcp_stream *stream = half->priv_stream;
	if (stream == NULL)
		return 0;
	half->priv_stream = NULL;
	int rc = 0;
	/* A connection gone already (reset) is no error: gale_tcp_stream_shutdown() says 0. */
	if (gale__tcp_stream_is_open(stream) && !stream->priv_is_write_shutdown)
		rc = gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_WRITE);
	int rc_release = owned_half_release(stream);
	return rc != 0 ? rc : rc_release;
}

int gale_tcp_reunite(struct gale_tcp_owned_read_half *read_half,
		     struct gale_tcp_owned_write_half *write_half,
		     struct gale_tcp_stream *stream_out)
{
	assert(read_half != NULL && write_half != NULL);
	assert(stream_out != NULL);
	struct gale_tcp_stream *core = read_half->priv_stream;
	if (core == NULL || core != write_half->priv_stream)
		return -EINVAL;
	assert(core->priv_is_split && core->priv_halves_live == 2);
	read_half->priv_stream = NULL;
	write_half->priv_stream = NULL;
	core->priv_is_split = false;
	core->priv_halves_live = 0;
	if (stream_out != core) {
		*stream_out = *core;
		/* The registration moved with the value; the core must not answer for it. */
		*core = (struct gale_tcp_stream){0};
		gale__tcp_stream_cache_clear(core);
	}
	return 0;
}
