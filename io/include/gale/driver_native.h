/* SPDX-License-Identifier: MIT */
/*
 * The native driver: the platform's own readiness API (epoll on Linux), for code where the
 * backend does not matter (servers, examples, tests that are not about one driver).
 *
 * The build picks the implementation, as Redis's ae.c picks ae_epoll.c, but in CMake: one
 * io/src/driver_native_<name>.c per platform (GALE_DRIVER_NATIVE in the top-level
 * CMakeLists.txt), "none" where gale has no real driver yet. Code about one driver's own
 * behaviour (epoll's syscall table, say) includes that driver's header instead.
 */
#ifndef GALE_IO_DRIVER_NATIVE_H
#define GALE_IO_DRIVER_NATIVE_H

#include <gale/common.h>
#include <gale/driver.h>
#include <gale/driver_epoll.h>

GALE_BEGIN_DECLS

/*
 * Storage for whichever native driver the build picked. One union member per native
 * driver, so the layout needs no platform test in this header; base overlays the first
 * member of each, as every driver keeps its struct gale_driver first.
 */
struct gale_driver_native {
	union {
		struct gale_driver base; /* Hand &base to gale (gale_runtime_init, ...). */
		/* Private: do not touch. */
		struct gale_driver_epoll priv_epoll; /* Linux. */
	};
};

/**
 * Starts the platform's native driver in place: epoll on Linux (gale_driver_epoll_init).
 * gale_driver_name(&driver->base) tells which one ("epoll").
 *
 * @param driver  caller-allocated; filled in place. On failure driver->base.ops is NULL.
 * @return 0, or what the native driver's init returns (epoll: -EMFILE, -ENFILE, -ENOMEM),
 *         or -ENOTSUP on a platform with no native driver.
 * Ownership: the caller owns driver and releases it with gale_driver_deinit(&driver->base)
 * (a no-op after a failed init, or a second time), after everything using it is deinit'd.
 * Like each driver's own deinit, that does not close fds the driver handed out.
 * Thread affinity: one thread uses a driver at a time; wake() may come from any thread.
 */
GALE_EXTERN int gale_driver_native_init(struct gale_driver_native *driver);

GALE_END_DECLS

#endif /* GALE_IO_DRIVER_NATIVE_H */
