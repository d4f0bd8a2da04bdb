/* SPDX-License-Identifier: MIT */
/*
 * The scripted driver: every readiness op pops a value the test queued with cmocka, so a
 * unit test fixes exact driver results and checks exact calls with no kernel involved.
 * How to script it is documented once, in test_support.h.
 *
 * The static ops keep the gale_script_driver_ prefix on purpose: cmocka keys queued values
 * by function name (__func__), so these names are what tests write in will_return().
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>

#include "test_support.h"

static struct gale_script_driver *script_driver_from(struct gale_driver *driver)
{
	assert_non_null(driver);
	return (struct gale_script_driver *)driver;
}

static int gale_script_driver_fd_register(struct gale_driver *driver, int fd, uint64_t token,
					  uint32_t interest)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	check_expected(token);
	check_expected(interest);
	return (int)mock();
}

static int gale_script_driver_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
					    uint32_t interest)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	check_expected(token);
	check_expected(interest);
	return (int)mock();
}

static int gale_script_driver_fd_deregister(struct gale_driver *driver, int fd)
{
	(void)script_driver_from(driver);
	check_expected(fd);
	return (int)mock();
}

static int gale_script_driver_wait(struct gale_driver *driver, struct gale_event *events,
				   int events_cap, int64_t timeout_ns)
{
	struct gale_script_driver *script = script_driver_from(driver);
	script->waits_count++;
	script->last_timeout_ns = timeout_ns;
	int count = (int)mock();
	if (count <= 0)
		return count;
	/* A script longer than the caller's buffer is a broken test, not a driver result. */
	assert_true(count <= events_cap);
	for (int i = 0; i < count; i++) {
		events[i].token = (uint64_t)mock();
		events[i].ready = (uint32_t)mock();
	}
	return count;
}

static int64_t gale_script_driver_now_ns(struct gale_driver *driver)
{
	return script_driver_from(driver)->now_ns;
}

static void gale_script_driver_deinit(struct gale_driver *driver)
{
	(void)script_driver_from(driver);
}

/* Every op a reactor-level test has no business calling ends up here and fails the test.
 * The arguments are taken only so that each generated op uses all of its parameters. */
static int script_driver_unexpected(const char *op, ...)
{
	fail_msg("script driver: unexpected call to %s", op);
	return -ENOSYS;
}

#define SCRIPT_DRIVER_ARGS(...) __VA_ARGS__
#define SCRIPT_DRIVER_UNEXPECTED(op, OP, ret, fd, wrapper, params, args)                   \
	static ret script_driver_##op params                                               \
	{                                                                                  \
		return script_driver_unexpected(#op, SCRIPT_DRIVER_ARGS args);             \
	}
GALE_DRIVER_OP_MAP(SCRIPT_DRIVER_UNEXPECTED, GALE_DRIVER_OP_MAP_SKIP)
#undef SCRIPT_DRIVER_UNEXPECTED

_Static_assert(offsetof(struct gale_script_driver, base) == 0, "base must be first");

/* Per instance, so the table is filled from the op list: a new op is refused with no edit
 * here. The scripted ops replace their refusals; wake stays NULL (the wrapper answers
 * -ENOTSUP). */
void gale_script_driver_init(struct gale_script_driver *driver)
{
	assert(driver != NULL);
	*driver = (struct gale_script_driver){0};
	struct gale_driver_ops *ops = &driver->ops;
	ops->abi_version = GALE_DRIVER_ABI_VERSION;
	ops->name = "script";
#define SCRIPT_DRIVER_REFUSE(op, ...) ops->op = script_driver_##op;
	GALE_DRIVER_OP_MAP(SCRIPT_DRIVER_REFUSE, GALE_DRIVER_OP_MAP_SKIP)
#undef SCRIPT_DRIVER_REFUSE
	ops->fd_register = gale_script_driver_fd_register;
	ops->fd_reregister = gale_script_driver_fd_reregister;
	ops->fd_deregister = gale_script_driver_fd_deregister;
	ops->wait = gale_script_driver_wait;
	ops->wake = NULL;
	ops->now_ns = gale_script_driver_now_ns;
	ops->deinit = gale_script_driver_deinit;
	driver->base.ops = ops;
}

void gale_script_driver_expect_fd_register(int fd, uint64_t token, uint32_t interest, int rc)
{
	expect_value(gale_script_driver_fd_register, fd, fd);
	expect_value(gale_script_driver_fd_register, token, token);
	expect_value(gale_script_driver_fd_register, interest, interest);
	will_return(gale_script_driver_fd_register, rc);
}

void gale_script_driver_expect_fd_reregister(int fd, uint64_t token, uint32_t interest, int rc)
{
	expect_value(gale_script_driver_fd_reregister, fd, fd);
	expect_value(gale_script_driver_fd_reregister, token, token);
	expect_value(gale_script_driver_fd_reregister, interest, interest);
	will_return(gale_script_driver_fd_reregister, rc);
}

void gale_script_driver_expect_fd_deregister(int fd, int rc)
{
	expect_value(gale_script_driver_fd_deregister, fd, fd);
	will_return(gale_script_driver_fd_deregister, rc);
}

void gale_script_driver_expect_wait(const struct gale_event *events, int count)
{
	assert(count <= 0 || events != NULL);
	will_return(gale_script_driver_wait, count);
	for (int i = 0; i < count; i++) {
		will_return(gale_script_driver_wait, events[i].token);
		will_return(gale_script_driver_wait, events[i].ready);
	}
}
