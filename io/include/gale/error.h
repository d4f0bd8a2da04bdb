/* SPDX-License-Identifier: MIT */
/*
 * Poll results and error codes shared by every gale module.
 *
 * Conventions (see STYLE.md 3.7):
 *   - actions return int: 0 on success or a negative code;
 *   - byte counts return ssize_t: >= 0 or a negative code;
 *   - poll functions return the tri-state: < 0 error, 0 ready, GALE_PENDING.
 * Negative codes are either -errno (OS errors, e.g. -ECONNRESET) or one of gale's own
 * codes below, which live in [-4095, -4000] so they never collide with errno values.
 *
 * Errors and contracts, the rule every public function follows (its header says which):
 *   - a bad VALUE from the caller (a count, size, index, timeout or flag out of range, an
 *     address of no family such as the zeroed one a failed parse leaves) is an error
 *     code returned, -EINVAL unless the function documents another, never an abort. An
 *     init that cannot fail (void) keeps the value and the first poll returns the error;
 *   - a broken PROTOCOL is a programmer error and aborts through assert(): polling a
 *     future after it completed, a NULL object pointer where the header requires one,
 *     consuming a guard twice, a precondition of a function with no error to return
 *     (its header says "asserted"). NDEBUG removes these checks;
 *   - the checks of the implementations gale calls (readers and writers through the
 *     async_io.h wrappers, drivers through the driver.h wrappers: a reader that reports
 *     more bytes than the buffer holds or fills a buffer other than the caller's) are
 *     cheap and stay in EVERY build type, NDEBUG included: they print
 *     "gale: contract broken: <what> (<file>:<line>)" on stderr and abort().
 */
#ifndef GALE_IO_ERROR_H
#define GALE_IO_ERROR_H

#include <stdbool.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

/*
 * A poll function returns GALE_PENDING only after it arranged for the waker of the
 * calling context to be called when progress is possible. Pending is never an error and
 * a driver never returns it.
 */
#define GALE_PENDING 1

/* gale's own codes: X(NAME, value, message). The single list that makes the enum and
 * gale_strerror(). Append only: values are ABI. */
#define GALE_ERROR_MAP(X)                                                                  \
	X(UNEXPECTED_EOF, -4095, "unexpected end of stream")                               \
	X(WRITE_ZERO, -4094, "write returned zero bytes")                                  \
	X(CANCELED, -4093, "operation canceled")                                           \
	X(CLOSED, -4092, "object is closed")                                               \
	X(TIMED_OUT, -4091, "deadline elapsed")                                            \
	X(LIMIT, -4090, "size limit exceeded")                                             \
	X(STALL, -4089, "tasks are pending and nothing can wake them")                     \
	X(MOCK, -4088, "scripted mock saw an unexpected call")                             \
	X(RESOLVE_NOT_FOUND, -4087, "host name not found")                                 \
	X(RESOLVE_NO_ADDRESS, -4086, "host name has no address of the requested family")   \
	X(RESOLVE_SERVER_FAILURE, -4085, "name server failure")                            \
	X(RESOLVE_REFUSED, -4084, "name server refused the query")                         \
	X(RESOLVE_TIMED_OUT, -4083, "name server did not answer in time")                  \
	X(RESOLVE_BAD_NAME, -4082, "malformed host name")                                  \
	X(RESOLVE_NO_RESOLVER, -4081, "no resolver installed on the runtime")              \
	X(RESOLVE_FAILED, -4080, "name resolution failed")

enum gale_error {
#define GALE_ERROR_ENUM(name, value, message) GALE_E_##name = (value),
	GALE_ERROR_MAP(GALE_ERROR_ENUM)
#undef GALE_ERROR_ENUM
};

/**
 * Describes a result code.
 *
 * @param rc  0, GALE_PENDING, a gale code (GALE_E_*) or a negative errno value.
 * @return    a static, NUL-terminated English message; never NULL. Unknown codes give
 *            "unknown error". Thread-safe: it never uses strerror()'s shared buffer.
 */
GALE_EXTERN const char *gale_strerror(int rc);

/**
 * Names a result code as an identifier: "GALE_PENDING", "GALE_E_WRITE_ZERO", "ECONNRESET".
 *
 * @return  a static string; "UNKNOWN" for codes gale does not know.
 */
GALE_EXTERN const char *gale_error_name(int rc);

/** True when a poll result means "not ready, waker stored". */
static inline bool gale_is_pending(int rc)
{
	return rc == GALE_PENDING;
}

GALE_END_DECLS

#endif /* GALE_IO_ERROR_H */
