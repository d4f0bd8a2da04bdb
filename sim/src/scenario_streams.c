/* SPDX-License-Identifier: MIT */
/*
 * The STREAM oracle on a real kernel (the EPOLL and FAULT_EPOLL backends; the sim checks
 * its own streams). Both ends of every connection live in this process, so the runner's
 * driver can see each byte go in at one end and come out at the other: per direction it
 * keeps the count and an FNV-1a hash of the bytes written and of the bytes read, and checks
 * them where they can be compared (the sim's rule, sim.h): whenever the reader has read
 * exactly as many bytes as were written the hashes must agree, a reader may never be
 * ahead of its writer, and the end of stream may be read only after every byte. An error
 * seen on a direction (a reset) lets bytes go missing legally, so that direction is then
 * only checked for reading ahead or reading wrong bytes, never for loss.
 *
 * TCP ends are paired by address: the connecting end's (local, remote) is the accepted
 * end's (peer, local).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

GALE_NO_FUZZ_COVERAGE
static uint64_t fnv_add(uint64_t hash, const struct iovec *iov, int iov_count, size_t len)
{
	for (int i = 0; i < iov_count && len > 0; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
		const uint8_t *bytes = iov[i].iov_base;
		for (size_t k = 0; k < n; k++)
			hash = (hash ^ bytes[k]) * FNV_PRIME;
		len -= n;
	}
	return hash;
}

/* A new stream record (index returned + 1), or 0 when out of memory (reported). */
static uint32_t stream_new(struct gale_scenario_state *state)
{
	if (state->streams_len == state->streams_cap) {
		uint32_t cap = state->streams_cap == 0 ? 16 : state->streams_cap * 2;
		struct scenario_stream *streams = realloc(state->streams, cap * sizeof(*streams));
		if (streams == NULL) {
			gale__scenario_failf(state, GALE_ORACLE_SETUP,
					     "the runner ran out of memory");
			return 0;
		}
		state->streams = streams;
		state->streams_cap = cap;
	}
	struct scenario_stream *stream = &state->streams[state->streams_len++];
	*stream = (struct scenario_stream){.fds = {-1, -1}};
	for (int d = 0; d < 2; d++)
		stream->dirs[d].written_hash = stream->dirs[d].read_hash = FNV_OFFSET;
	return state->streams_len;
}

/* Attaches fd, as the writer of direction side, to stream number (index + 1). */
static void stream_attach(struct gale_scenario_state *state, uint32_t number, int fd,
			  uint8_t side)
{
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record == NULL || number == 0)
		return;
	record->stream = number;
	record->side = side;
	state->streams[number - 1].fds[side] = fd;
}

void gale__scenario_streams_connecting(struct gale_scenario_state *state, int fd,
				       const struct sockaddr_storage *local,
				       const struct sockaddr_storage *remote)
{
	assert(state != NULL && local != NULL && remote != NULL);
	uint32_t number = stream_new(state);
	if (number == 0)
		return;
	struct scenario_stream *stream = &state->streams[number - 1];
	stream->local = *local;
	stream->remote = *remote;
	stream->tcp_pending = true;
	stream_attach(state, number, fd, 0);
}

void gale__scenario_streams_accepted(struct gale_scenario_state *state, int fd,
				     const struct sockaddr_storage *local,
				     const struct sockaddr_storage *peer)
{
	assert(state != NULL && local != NULL && peer != NULL);
	/* Newest first: a port the kernel reuses belongs to the latest connect. */
	for (uint32_t i = state->streams_len; i-- > 0;) {
		struct scenario_stream *stream = &state->streams[i];
		if (stream->tcp_pending && gale__scenario_addr_same(&stream->local, peer) &&
		    gale__scenario_addr_same(&stream->remote, local)) {
			stream->tcp_pending = false;
			stream_attach(state, i + 1, fd, 1);
			return;
		}
	}
	/* A peer outside the runner's view (not connected through it): nothing to pair. */
}

void gale__scenario_streams_pair(struct gale_scenario_state *state, const int fds[2])
{
	assert(state != NULL && fds != NULL);
	uint32_t number = stream_new(state);
	/* fds[1] writes direction 1 (read by fds[0]); a socketpair's fds[0] writes 0. */
	stream_attach(state, number, fds[0], 0);
	stream_attach(state, number, fds[1], 1);
}

/* The stream and direction fd writes (writing) or reads (!writing), or NULL. */
static struct scenario_stream_dir *dir_of(struct gale_scenario_state *state, int fd, bool writing,
					  struct scenario_stream **stream_out)
{
	const struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record == NULL || record->stream == 0)
		return NULL;
	*stream_out = &state->streams[record->stream - 1];
	return &(*stream_out)->dirs[writing ? record->side : 1 - record->side];
}

void gale__scenario_streams_wrote(struct gale_scenario_state *state, int fd,
				  const struct iovec *iov, int iov_count, int64_t result)
{
	struct scenario_stream *stream;
	struct scenario_stream_dir *dir = dir_of(state, fd, true, &stream);
	if (dir == NULL || result == -EAGAIN)
		return;
	if (result < 0) {
		/* A reset ends both ways (a write's EPIPE after shutdown ends only this one). */
		if (result == -ECONNRESET)
			stream->dirs[0].broken = stream->dirs[1].broken = true;
		dir->broken = true;
		return;
	}
	dir->written += (uint64_t)result;
	dir->written_hash = fnv_add(dir->written_hash, iov, iov_count, (size_t)result);
}

void gale__scenario_streams_read(struct gale_scenario_state *state, int fd,
				 const struct iovec *iov, int iov_count, int64_t result)
{
	struct scenario_stream *stream;
	struct scenario_stream_dir *dir = dir_of(state, fd, false, &stream);
	if (dir == NULL || result == -EAGAIN || state->failed)
		return;
	if (result < 0) {
		dir->broken = true;
		stream->dirs[0].broken = stream->dirs[1].broken = true; /* A reset hits both. */
		return;
	}
	int writer = stream->fds[dir == &stream->dirs[0] ? 0 : 1];
	dir->read += (uint64_t)result;
	dir->read_hash = fnv_add(dir->read_hash, iov, iov_count, (size_t)result);
	if (dir->read > dir->written) {
		gale__scenario_failf(state, GALE_ORACLE_STREAM,
				     "fd %d read %llu bytes from fd %d, which wrote only %llu "
				     "(bytes out of nowhere)", fd, (unsigned long long)dir->read,
				     writer, (unsigned long long)dir->written);
	} else if (dir->read == dir->written && dir->read_hash != dir->written_hash) {
		gale__scenario_failf(state, GALE_ORACLE_STREAM,
				     "fd %d read %llu bytes from fd %d that differ from the %llu "
				     "it wrote (order, loss or duplication)", fd,
				     (unsigned long long)dir->read, writer,
				     (unsigned long long)dir->written);
	} else if (result == 0 && dir->read < dir->written && !dir->broken) {
		gale__scenario_failf(state, GALE_ORACLE_STREAM,
				     "fd %d read the end of stream after %llu of the %llu bytes fd "
				     "%d wrote (bytes lost)", fd, (unsigned long long)dir->read,
				     (unsigned long long)dir->written, writer);
	}
}

void gale__scenario_streams_closed(struct gale_scenario_state *state, int fd)
{
	struct scenario_fd *record = gale__scenario_fd_get(state, fd);
	if (record == NULL || record->stream == 0)
		return;
	struct scenario_stream *stream = &state->streams[record->stream - 1];
	stream->fds[record->side] = -1;
	stream->tcp_pending = false; /* A closed connecting end is never accepted as itself. */
	record->stream = 0;
}

void gale__scenario_streams_deinit(struct gale_scenario_state *state)
{
	assert(state != NULL);
	free(state->streams);
	state->streams = NULL;
	state->streams_len = state->streams_cap = 0;
}
