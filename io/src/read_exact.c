/* SPDX-License-Identifier: MIT */
/* read_exact: fill exactly len bytes from a reader, resuming from the cursor. */
#include <assert.h>

#include <gale/error.h>
#include <gale/read_exact.h>

void gale_read_exact_init(struct gale_read_exact *future, struct gale_async_read reader,
			  void *buf, size_t len)
{
	assert(future != NULL);
	assert(reader.ops != NULL);
	assert(buf != NULL || len == 0);
	future->reader = reader;
	future->buf = buf;
	future->len = len;
	future->len_filled = 0;
	future->priv_done = false;
}

int gale_read_exact_poll(struct gale_read_exact *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	assert(future->len_filled <= future->len);
	while (future->len_filled < future->len) {
		/* cap = len: the reader can fill the remainder but never read past it. */
		struct gale_read_buf rb = {future->buf, future->len, future->len_filled};
		int rc = gale_async_read_poll(future->reader, cx, &rb);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0 && rb.len_filled == future->len_filled)
			rc = GALE_E_UNEXPECTED_EOF;
		if (rc != 0) {
			future->priv_done = true;
			return rc;
		}
		future->len_filled = rb.len_filled;
	}
	future->priv_done = true;
	return 0;
}
