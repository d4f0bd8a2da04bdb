/* SPDX-License-Identifier: MIT */
/*
 * The production driver: Linux epoll(2), edge-triggered.
 *
 * Every fd it creates is O_NONBLOCK | O_CLOEXEC; sends use MSG_NOSIGNAL so a reset peer is
 * -EPIPE, never a SIGPIPE death; EINTR is retried inside; errno is read here and nowhere
 * else. Like SQLite's unix VFS, the syscalls go through a per-instance table that tests can
 * override (gale_driver_epoll_syscall_set) to inject EINTR or failures on the real path.
 * Built only on Linux.
 */
#ifndef GALE_IO_DRIVER_EPOLL_H
#define GALE_IO_DRIVER_EPOLL_H

#include <gale/common.h>
#include <gale/driver.h>

GALE_BEGIN_DECLS

/* How many kernel events one wait() can collect; larger events_cap are clamped to it. */
#define GALE_DRIVER_EPOLL_EVENTS_MAX 256

/* A type-erased syscall pointer, as SQLite's sqlite3_syscall_ptr. */
typedef void (*gale_syscall_ptr)(void);

/* Slots of the syscall table (each the libc function of the same name). */
enum gale_epoll_syscall {
	GALE_EPOLL_SYSCALL_EPOLL_CTL,
	GALE_EPOLL_SYSCALL_EPOLL_WAIT,
	GALE_EPOLL_SYSCALL_READ,
	GALE_EPOLL_SYSCALL_WRITE,
	GALE_EPOLL_SYSCALL_READV,
	GALE_EPOLL_SYSCALL_WRITEV,
	GALE_EPOLL_SYSCALL_RECV,
	GALE_EPOLL_SYSCALL_SEND,
	GALE_EPOLL_SYSCALL_ACCEPT4,
	GALE_EPOLL_SYSCALL_CONNECT,
	GALE_EPOLL_SYSCALL_CLOSE,
	GALE_EPOLL_SYSCALL_COUNT_,
};

struct gale_driver_epoll {
	struct gale_driver base; /* Always first: a struct gale_driver * points here. */
	/* Private: do not touch. */
	int priv_epoll_fd;                                    /* The epoll instance. */
	int priv_wake_fd;                                     /* eventfd for wake(). */
	gale_syscall_ptr priv_syscalls[GALE_EPOLL_SYSCALL_COUNT_]; /* Overridable table. */
};

/**
 * Creates an epoll instance (close-on-exec) and an eventfd for wake().
 *
 * @param driver  caller-allocated; filled in place. On failure driver->base.ops is NULL.
 * @return 0, or -EMFILE, -ENFILE, -ENOMEM.
 * Thread affinity: one thread uses a driver at a time; wake() may come from any thread.
 */
GALE_EXTERN int gale_driver_epoll_init(struct gale_driver_epoll *driver);

/**
 * Closes the epoll fd. Idempotent on a zeroed or already deinit'd driver. Does not close
 * fds the driver handed out: their owners close them.
 */
GALE_EXTERN void gale_driver_epoll_deinit(struct gale_driver_epoll *driver);

/**
 * Replaces one syscall of this instance (fault injection on the real path, SQLite
 * xSetSystemCall style). fn must have the exact signature of the libc function the slot
 * names; NULL restores the real one. Test-only in spirit but harmless: state is per
 * instance, nothing global.
 *
 * @return 0, or -EINVAL for an unknown slot.
 */
GALE_EXTERN int gale_driver_epoll_syscall_set(struct gale_driver_epoll *driver,
					      enum gale_epoll_syscall slot, gale_syscall_ptr fn);

GALE_END_DECLS

#endif /* GALE_IO_DRIVER_EPOLL_H */
