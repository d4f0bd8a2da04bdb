/* SPDX-License-Identifier: MIT */
/*
 * A scripted reader/writer for tests (tokio-test's io::Builder): the caller lists the
 * exact reads the code under test will see and the exact writes it must make, in order.
 *
 *   static const struct gale_mock_action script[] = {
 *           GALE_MOCK_ACTION_READ("hello", 5),
 *           GALE_MOCK_ACTION_PENDING(),
 *           GALE_MOCK_ACTION_EXPECT_WRITE("world", 5, 2), // accepted 2 bytes per write
 *           GALE_MOCK_ACTION_READ_EOF(),
 *   };
 *   struct gale_mock_io mock;
 *   gale_mock_io_init(&mock, script, 4);
 *   ... drive read_exact / write_all over gale_mock_io_reader(&mock), _writer(&mock) ...
 *   assert(gale_mock_io_finish(&mock) == 0); // or print gale_mock_io_error(&mock)
 *
 * Rules:
 *   - Actions are consumed strictly in order by poll_read, poll_write(v) and
 *     poll_shutdown. poll_flush is not scripted: it completes at once (and is counted).
 *   - READ: the next reads return the action's bytes; a read offered fewer bytes than
 *     remain takes what fits and leaves the rest for the next read (the action ends when
 *     all its bytes were read). READ_EOF: the next read completes with 0 bytes.
 *     READ_ERROR: the next read fails with the action's code.
 *   - EXPECT_WRITE: the next writes must carry exactly the action's bytes. Each write
 *     accepts min(len, bytes left in the action, write_len_max) bytes (write_len_max 0 =
 *     no cap), so a write longer than the action is a partial write, and write_len_max
 *     forces partial writes. The action ends when all its bytes were written.
 *     WRITE_ERROR: the next write fails with the action's code.
 *   - EXPECT_SHUTDOWN: the next call must be poll_shutdown; it completes (0).
 *   - PENDING: the next read, write or shutdown (whichever comes) returns GALE_PENDING.
 *     The mock stores cx's waker and wakes it at once, inside that poll (the contract
 *     holds: the waker was arranged to fire), so an executor polls again right away and
 *     the next poll proceeds to the next action. It models "not ready yet" exactly once.
 *   - Zero-length reads (full buffer) and writes complete at once with 0 bytes and consume
 *     nothing.
 *   - Anything else is a script violation: the wrong call for the current action, written
 *     bytes that differ, any read/write/shutdown after the script ended. The call returns
 *     GALE_E_MOCK and the mock records a human-readable message (the first violation
 *     only); every later call returns GALE_E_MOCK too.
 * Messages name actions by index: "action N" is actions[N].
 * The mock has ONE waker slot for both directions (see split.h's SHARED mode).
 * No test framework dependency: the caller asserts on the return codes and messages.
 */
#ifndef GALE_IO_MOCK_IO_H
#define GALE_IO_MOCK_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

enum gale_mock_action_kind {
	GALE_MOCK_READ = 1,            /* Reads return bytes[0, len) (len > 0). */
	GALE_MOCK_READ_EOF = 2,        /* A read completes with 0 bytes. */
	GALE_MOCK_READ_ERROR = 3,      /* A read fails with code (< 0). */
	GALE_MOCK_EXPECT_WRITE = 4,    /* Writes must carry bytes[0, len) (len > 0). */
	GALE_MOCK_WRITE_ERROR = 5,     /* A write fails with code (< 0). */
	GALE_MOCK_EXPECT_SHUTDOWN = 6, /* poll_shutdown is called; it completes. */
	GALE_MOCK_PENDING = 7,         /* One GALE_PENDING (waker stored, woken at once). */
};

struct gale_mock_action {
	enum gale_mock_action_kind kind; /* What happens. */
	const void *bytes;               /* READ / EXPECT_WRITE: the data. Borrowed. */
	size_t len;                      /* READ / EXPECT_WRITE: bytes in data. */
	size_t write_len_max;            /* EXPECT_WRITE: bytes per write; 0 = no cap. */
	int code;                        /* READ_ERROR / WRITE_ERROR: the error (< 0). */
};

/* Initializers for script arrays (designated, so fields not named are zero). */
#define GALE_MOCK_ACTION_READ(bytes_, len_)                                                 \
	{.kind = GALE_MOCK_READ, .bytes = (bytes_), .len = (len_)}
#define GALE_MOCK_ACTION_READ_EOF() {.kind = GALE_MOCK_READ_EOF}
#define GALE_MOCK_ACTION_READ_ERROR(code_) {.kind = GALE_MOCK_READ_ERROR, .code = (code_)}
#define GALE_MOCK_ACTION_EXPECT_WRITE(bytes_, len_, write_len_max_)                         \
	{.kind = GALE_MOCK_EXPECT_WRITE, .bytes = (bytes_), .len = (len_),                   \
	 .write_len_max = (write_len_max_)}
#define GALE_MOCK_ACTION_WRITE_ERROR(code_) {.kind = GALE_MOCK_WRITE_ERROR, .code = (code_)}
#define GALE_MOCK_ACTION_EXPECT_SHUTDOWN() {.kind = GALE_MOCK_EXPECT_SHUTDOWN}
#define GALE_MOCK_ACTION_PENDING() {.kind = GALE_MOCK_PENDING}

/* Room for the first violation's message, NUL included (longer ones are truncated). */
#define GALE_MOCK_IO_ERROR_SIZE 256

struct gale_mock_io_stats {
	uint64_t reads_count;     /* poll_read calls. */
	uint64_t writes_count;    /* poll_write and poll_writev calls. */
	uint64_t flushes_count;   /* poll_flush calls. */
	uint64_t shutdowns_count; /* poll_shutdown calls. */
	uint64_t pendings_count;  /* GALE_PENDING returned (PENDING actions played). */
};

struct gale_mock_io {
	/* Private: do not touch. */
	const struct gale_mock_action *priv_actions; /* The script. Borrowed until finish. */
	size_t priv_actions_count;                   /* Actions in the script. */
	size_t priv_index;                           /* The current action. */
	size_t priv_offset;                          /* Bytes of it consumed (READ/WRITE). */
	struct gale_waker priv_waker;                /* The one waker slot. */
	struct gale_mock_io_stats priv_stats;        /* Counters. */
	bool priv_failed;                            /* A violation was recorded. */
	char priv_error[GALE_MOCK_IO_ERROR_SIZE];    /* Its message. */
};

/**
 * Prepares a mock that plays actions[0, actions_count). Allocates nothing. A malformed
 * script (an unknown kind, READ/EXPECT_WRITE without bytes or with len 0, an error code
 * >= 0) is a script violation like any other: the first malformed action is recorded
 * (gale_mock_io_error(), e.g. "action 2 (READ_ERROR): code 5 is not negative") and every
 * call, gale_mock_io_finish() included, returns GALE_E_MOCK.
 * @param actions  borrowed until the mock is no longer used (with the bytes it points to);
 *                 NULL only when actions_count is 0 (asserted).
 */
GALE_EXTERN void gale_mock_io_init(struct gale_mock_io *mock,
				   const struct gale_mock_action *actions, size_t actions_count);

/** The mock as a reader (borrows mock). */
GALE_EXTERN struct gale_async_read gale_mock_io_reader(struct gale_mock_io *mock);

/** The mock as a writer (borrows mock). Not vectored: writev takes the default path. */
GALE_EXTERN struct gale_async_write gale_mock_io_writer(struct gale_mock_io *mock);

/** Both of the above (one self). */
GALE_EXTERN struct gale_async_stream gale_mock_io_stream(struct gale_mock_io *mock);

/**
 * The first violation's message, e.g. "action 1 (EXPECT_WRITE): written byte 3 is 0x78
 * 'x', expected 0x64 'd'", or NULL when none was recorded. Owned by the mock: valid until
 * the mock is reused.
 */
GALE_EXTERN const char *gale_mock_io_error(const struct gale_mock_io *mock);

/**
 * Ends the script. @return 0 when every action was consumed and no violation happened;
 * GALE_E_MOCK otherwise, recording (if nothing was recorded before) a message naming the
 * first action left, e.g. "script not finished: 2 of 5 actions left, next is action 3
 * (READ, 4 of 6 bytes left)". Calling it does not change the script position.
 */
GALE_EXTERN int gale_mock_io_finish(struct gale_mock_io *mock);

/** Counters since init. */
GALE_EXTERN struct gale_mock_io_stats gale_mock_io_stats_get(const struct gale_mock_io *mock);

GALE_END_DECLS

#endif /* GALE_IO_MOCK_IO_H */
