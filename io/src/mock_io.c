/* SPDX-License-Identifier: MIT */
/* The scripted mock reader/writer: plays a caller's action list, records violations. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gale/error.h>
#include <gale/mock_io.h>

static const char *mock_kind_name(enum gale_mock_action_kind kind)
{
	switch (kind) {
	case GALE_MOCK_READ:
		return "READ";
	case GALE_MOCK_READ_EOF:
		return "READ_EOF";
	case GALE_MOCK_READ_ERROR:
		return "READ_ERROR";
	case GALE_MOCK_EXPECT_WRITE:
		return "EXPECT_WRITE";
	case GALE_MOCK_WRITE_ERROR:
		return "WRITE_ERROR";
	case GALE_MOCK_EXPECT_SHUTDOWN:
		return "EXPECT_SHUTDOWN";
	case GALE_MOCK_PENDING:
		return "PENDING";
	}
	return "UNKNOWN";
}

/* Records the first violation's message; returns GALE_E_MOCK for the caller to return. */
__attribute__((format(printf, 2, 3))) static int mock_fail(struct gale_mock_io *mock,
							   const char *format, ...)
{
	assert(mock != NULL && format != NULL);
	if (!mock->priv_failed) {
		va_list args;
		va_start(args, format);
		vsnprintf(mock->priv_error, sizeof(mock->priv_error), format, args);
		va_end(args);
		mock->priv_failed = true;
	}
	return GALE_E_MOCK;
}

static const struct gale_mock_action *mock_current(const struct gale_mock_io *mock)
{
	assert(mock->priv_index <= mock->priv_actions_count);
	if (mock->priv_index == mock->priv_actions_count)
		return NULL;
	return &mock->priv_actions[mock->priv_index];
}

static void mock_next(struct gale_mock_io *mock)
{
	assert(mock->priv_index < mock->priv_actions_count);
	mock->priv_index++;
	mock->priv_offset = 0;
}

/* The call does not match the script (or the script ended). */
static int mock_unexpected(struct gale_mock_io *mock, const char *call, size_t len)
{
	const struct gale_mock_action *action = mock_current(mock);
	if (action == NULL)
		return mock_fail(mock, "script ended after %zu actions: unexpected %s (%zu bytes)",
				 mock->priv_actions_count, call, len);
	return mock_fail(mock, "action %zu (%s): unexpected %s (%zu bytes)", mock->priv_index,
			 mock_kind_name(action->kind), call, len);
}

/* Plays a PENDING action: store the waker, consume the action, wake at once. */
static int mock_pending(struct gale_mock_io *mock, struct gale_cx *cx)
{
	assert(cx != NULL);
	assert(mock_current(mock)->kind == GALE_MOCK_PENDING);
	mock->priv_waker = cx->waker;
	mock->priv_stats.pendings_count++;
	mock_next(mock);
	struct gale_waker waker = mock->priv_waker;
	mock->priv_waker = gale_waker_none();
	gale_waker_wake(&waker);
	return GALE_PENDING;
}

static int mock_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct gale_mock_io *mock = self;
	assert(mock != NULL && rb != NULL);
	assert(mock->priv_offset == 0 || mock_current(mock)->kind == GALE_MOCK_READ ||
	       mock_current(mock)->kind == GALE_MOCK_EXPECT_WRITE);
	mock->priv_stats.reads_count++;
	if (mock->priv_failed)
		return GALE_E_MOCK;
	size_t want = gale_read_buf_remaining(rb);
	if (want == 0)
		return 0;
	const struct gale_mock_action *action = mock_current(mock);
	if (action == NULL)
		return mock_unexpected(mock, "poll_read", want);
	switch (action->kind) {
	case GALE_MOCK_PENDING:
		return mock_pending(mock, cx);
	case GALE_MOCK_READ: {
		size_t left = action->len - mock->priv_offset;
		size_t n = want < left ? want : left;
		gale_read_buf_put(rb, (const uint8_t *)action->bytes + mock->priv_offset, n);
		mock->priv_offset += n;
		if (mock->priv_offset == action->len)
			mock_next(mock);
		return 0;
	}
	case GALE_MOCK_READ_EOF:
		mock_next(mock);
		return 0;
	case GALE_MOCK_READ_ERROR:
		mock_next(mock);
		return action->code;
	default:
		return mock_unexpected(mock, "poll_read", want);
	}
}

/* Formats byte as "0x64 'd'" (the quote part only when printable). */
static void mock_byte_format(char out[16], uint8_t byte)
{
	if (byte >= 0x20 && byte < 0x7f)
		snprintf(out, 16, "0x%02x '%c'", byte, byte);
	else
		snprintf(out, 16, "0x%02x", byte);
}

/* Matches a write against the current EXPECT_WRITE action. */
static int mock_expect_write(struct gale_mock_io *mock, const struct gale_mock_action *action,
			     const uint8_t *buf, size_t len, size_t *len_written_out)
{
	assert(action->kind == GALE_MOCK_EXPECT_WRITE);
	assert(mock->priv_offset < action->len);
	const uint8_t *expected = (const uint8_t *)action->bytes + mock->priv_offset;
	size_t n = action->len - mock->priv_offset;
	if (len < n)
		n = len;
	if (action->write_len_max != 0 && action->write_len_max < n)
		n = action->write_len_max;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == expected[i])
			continue;
		char written[16], wanted[16];
		mock_byte_format(written, buf[i]);
		mock_byte_format(wanted, expected[i]);
		return mock_fail(mock, "action %zu (EXPECT_WRITE): written byte %zu is %s, "
				 "expected %s", mock->priv_index, mock->priv_offset + i, written,
				 wanted);
	}
	mock->priv_offset += n;
	if (mock->priv_offset == action->len)
		mock_next(mock);
	*len_written_out = n;
	return 0;
}

static int mock_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			   size_t *len_written_out)
{
	struct gale_mock_io *mock = self;
	assert(mock != NULL && len_written_out != NULL);
	assert(buf != NULL || len == 0);
	*len_written_out = 0;
	mock->priv_stats.writes_count++;
	if (mock->priv_failed)
		return GALE_E_MOCK;
	if (len == 0)
		return 0;
	const struct gale_mock_action *action = mock_current(mock);
	if (action == NULL)
		return mock_unexpected(mock, "poll_write", len);
	switch (action->kind) {
	case GALE_MOCK_PENDING:
		return mock_pending(mock, cx);
	case GALE_MOCK_EXPECT_WRITE:
		return mock_expect_write(mock, action, buf, len, len_written_out);
	case GALE_MOCK_WRITE_ERROR:
		mock_next(mock);
		return action->code;
	default:
		return mock_unexpected(mock, "poll_write", len);
	}
}

static int mock_poll_flush(void *self, struct gale_cx *cx)
{
	struct gale_mock_io *mock = self;
	(void)cx; /* Flush is not scripted: it never waits. */
	assert(mock != NULL);
	mock->priv_stats.flushes_count++;
	return mock->priv_failed ? GALE_E_MOCK : 0;
}

static int mock_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct gale_mock_io *mock = self;
	assert(mock != NULL && cx != NULL);
	mock->priv_stats.shutdowns_count++;
	if (mock->priv_failed)
		return GALE_E_MOCK;
	const struct gale_mock_action *action = mock_current(mock);
	if (action != NULL && action->kind == GALE_MOCK_PENDING)
		return mock_pending(mock, cx);
	if (action == NULL || action->kind != GALE_MOCK_EXPECT_SHUTDOWN)
		return mock_unexpected(mock, "poll_shutdown", 0);
	mock_next(mock);
	return 0;
}

static const struct gale_async_read_ops mock_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "mock",
	.poll_read = mock_poll_read,
};

static const struct gale_async_write_ops mock_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "mock",
	.poll_write = mock_poll_write,
	.poll_writev = NULL,
	.poll_flush = mock_poll_flush,
	.poll_shutdown = mock_poll_shutdown,
};

/* Checks that action index is well-formed; a malformed one is recorded as the mock's
 * violation (GALE_E_MOCK from every call, and from finish), like any script error. */
static bool mock_action_check(struct gale_mock_io *mock, size_t index)
{
	const struct gale_mock_action *action = &mock->priv_actions[index];
	if (action->kind < GALE_MOCK_READ || action->kind > GALE_MOCK_PENDING) {
		mock_fail(mock, "action %zu: unknown kind %d", index, (int)action->kind);
		return false;
	}
	bool has_bytes = action->kind == GALE_MOCK_READ || action->kind == GALE_MOCK_EXPECT_WRITE;
	if (has_bytes && (action->len == 0 || action->bytes == NULL)) {
		mock_fail(mock, "action %zu (%s): needs bytes and len > 0 (len %zu)", index,
			  mock_kind_name(action->kind), action->len);
		return false;
	}
	bool has_code = action->kind == GALE_MOCK_READ_ERROR ||
			action->kind == GALE_MOCK_WRITE_ERROR;
	if (has_code && action->code >= 0) {
		mock_fail(mock, "action %zu (%s): code %d is not negative", index,
			  mock_kind_name(action->kind), action->code);
		return false;
	}
	return true;
}

void gale_mock_io_init(struct gale_mock_io *mock, const struct gale_mock_action *actions,
		       size_t actions_count)
{
	assert(mock != NULL);
	assert(actions != NULL || actions_count == 0);
	*mock = (struct gale_mock_io){0};
	mock->priv_actions = actions;
	mock->priv_actions_count = actions_count;
	mock->priv_waker = gale_waker_none();
	for (size_t i = 0; i < actions_count && mock_action_check(mock, i); i++)
		continue;
}

struct gale_async_read gale_mock_io_reader(struct gale_mock_io *mock)
{
	assert(mock != NULL);
	struct gale_async_read reader = {&mock_read_ops, mock};
	return reader;
}

struct gale_async_write gale_mock_io_writer(struct gale_mock_io *mock)
{
	assert(mock != NULL);
	struct gale_async_write writer = {&mock_write_ops, mock};
	return writer;
}

struct gale_async_stream gale_mock_io_stream(struct gale_mock_io *mock)
{
	struct gale_async_stream stream = {gale_mock_io_reader(mock), gale_mock_io_writer(mock)};
	return stream;
}

const char *gale_mock_io_error(const struct gale_mock_io *mock)
{
	assert(mock != NULL);
	return mock->priv_failed ? mock->priv_error : NULL;
}

int gale_mock_io_finish(struct gale_mock_io *mock)
{
	assert(mock != NULL);
	if (mock->priv_failed)
		return GALE_E_MOCK;
	const struct gale_mock_action *action = mock_current(mock);
	if (action == NULL)
		return 0;
	size_t left = mock->priv_actions_count - mock->priv_index;
	if (action->kind != GALE_MOCK_READ && action->kind != GALE_MOCK_EXPECT_WRITE)
		return mock_fail(mock, "script not finished: %zu of %zu actions left, next is "
				 "action %zu (%s)", left, mock->priv_actions_count,
				 mock->priv_index, mock_kind_name(action->kind));
	return mock_fail(mock, "script not finished: %zu of %zu actions left, next is action "
			 "%zu (%s, %zu of %zu bytes left)", left, mock->priv_actions_count,
			 mock->priv_index, mock_kind_name(action->kind),
			 action->len - mock->priv_offset, action->len);
}

struct gale_mock_io_stats gale_mock_io_stats_get(const struct gale_mock_io *mock)
{
	assert(mock != NULL);
	return mock->priv_stats;
}
