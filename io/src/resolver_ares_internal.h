/* SPDX-License-Identifier: MIT */
/*
 * What c-ares's socket functions need from the epoll driver's file: errno. c-ares reads
 * failures as -1 with errno set (its try_again(SOCKERRNO)), and errno is written in
 * io/src/driver_epoll.c only (scripts/check-syscalls.sh), so the glue asks it.
 */
#ifndef GALE_IO_RESOLVER_ARES_INTERNAL_H
#define GALE_IO_RESOLVER_ARES_INTERNAL_H

#include <sys/types.h>

/* A driver result for a callback that speaks errno: result >= 0 unchanged; a negative
 * code sets errno to -result (EIO for gale's own codes) and gives -1. */
ssize_t gale__errno_result(ssize_t result);

#endif /* GALE_IO_RESOLVER_ARES_INTERNAL_H */
