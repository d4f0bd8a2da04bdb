/* SPDX-License-Identifier: MIT */
/*
 * gale_strerror(): messages for gale's own codes and the errno values gale returns; and
 * gale__contract_fail(), the message and abort of a broken contract (io_internal.h).
 */
#include <errno.h> /* E* constants only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <gale/error.h>

#include "io_internal.h"

struct error_entry {
	int code;            /* Positive errno value. */
	const char *name;    /* "ECONNRESET". */
	const char *message; /* English text. */
};

/* Our own table rather than strerror(): it is thread-safe and identical on every libc. */
#define ERRNO_MAP(X)                                                                        \
	X(EPERM, "operation not permitted")                                                \
	X(ENOENT, "no such file or directory")                                             \
	X(ESRCH, "no such task")                                                           \
	X(EINTR, "interrupted system call")                                                \
	X(EIO, "input/output error")                                                       \
	X(EBADF, "bad file descriptor")                                                    \
	X(EAGAIN, "resource temporarily unavailable (would block)")                        \
	X(ENOMEM, "out of memory")                                                         \
	X(EACCES, "permission denied")                                                     \
	X(EFAULT, "bad address")                                                           \
	X(EBUSY, "resource busy")                                                          \
	X(EEXIST, "already exists (already registered)")                                   \
	X(EINVAL, "invalid argument")                                                      \
	X(ENFILE, "too many open files in system")                                         \
	X(EMFILE, "too many open files")                                                   \
	X(ENOSPC, "no space left")                                                         \
	X(EPIPE, "broken pipe")                                                            \
	X(ERANGE, "result out of range")                                                   \
	X(EDEADLK, "deadlock avoided")                                                     \
	X(ENOSYS, "no such system call or operation")                                              \
	X(ENOTSOCK, "not a socket")                                                        \
	X(EPROTOTYPE, "protocol wrong type for socket")                                    \
	X(EDESTADDRREQ, "destination address required")                                    \
	X(EPROTO, "protocol error")                                                        \
	X(ENOPROTOOPT, "protocol not available")                                           \
	X(EPROTONOSUPPORT, "protocol not supported")                                       \
	X(EOPNOTSUPP, "operation not supported")                                           \
	X(EAFNOSUPPORT, "address family not supported")                                    \
	X(EADDRINUSE, "address already in use")                                            \
	X(EADDRNOTAVAIL, "address not available")                                          \
	X(ENETDOWN, "network is down")                                                     \
	X(ENETUNREACH, "network unreachable")                                              \
	X(ECONNABORTED, "connection aborted")                                              \
	X(ECONNRESET, "connection reset by peer")                                          \
	X(ENOBUFS, "no buffer space available")                                            \
	X(EISCONN, "already connected")                                                    \
	X(ENOTCONN, "not connected")                                                       \
	X(ETIMEDOUT, "connection timed out")                                               \
	X(ECONNREFUSED, "connection refused")                                              \
	X(EHOSTUNREACH, "host unreachable")                                                \
	X(EALREADY, "operation already in progress")                                       \
	X(EINPROGRESS, "operation in progress")                                            \
	X(ECANCELED, "operation canceled")

static const struct error_entry errno_entries[] = {
#define ERRNO_ENTRY(code, message) {code, #code, message},
	ERRNO_MAP(ERRNO_ENTRY)
#undef ERRNO_ENTRY
};

static const struct error_entry gale_entries[] = {
#define GALE_ENTRY(name, value, message) {value, "GALE_E_" #name, message},
	GALE_ERROR_MAP(GALE_ENTRY)
#undef GALE_ENTRY
};

static const struct error_entry *error_find(int rc)
{
	for (size_t i = 0; i < sizeof(gale_entries) / sizeof(gale_entries[0]); i++) {
		if (gale_entries[i].code == rc)
			return &gale_entries[i];
	}
	/* ENOTSUP == EOPNOTSUPP and EWOULDBLOCK == EAGAIN on Linux: the table has one each. */
	for (size_t i = 0; i < sizeof(errno_entries) / sizeof(errno_entries[0]); i++) {
		if (-errno_entries[i].code == rc)
			return &errno_entries[i];
	}
	return NULL;
}

const char *gale_strerror(int rc)
{
	if (rc == 0)
		return "success";
	if (rc == GALE_PENDING)
		return "pending";
	const struct error_entry *entry = error_find(rc);
	return entry != NULL ? entry->message : "unknown error";
}

const char *gale_error_name(int rc)
{
	if (rc == 0)
		return "OK";
	if (rc == GALE_PENDING)
		return "GALE_PENDING";
	const struct error_entry *entry = error_find(rc);
	return entry != NULL ? entry->name : "UNKNOWN";
}

void gale__contract_fail(const char *file, int line, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("gale: contract broken: ", stderr);
	vfprintf(stderr, format, args);
	fprintf(stderr, " (%s:%d)\n", file, line);
	va_end(args);
	abort();
}
