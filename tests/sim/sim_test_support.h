/* SPDX-License-Identifier: MIT */
/* Helpers shared by the simulator's tests: addresses as text, one-call waits. */
#ifndef GALE_TESTS_SIM_TEST_SUPPORT_H
#define GALE_TESTS_SIM_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/driver.h>
#include <gale/sim.h>

/* A sockaddr for "text" (IPv4 or IPv6) and port; returns its length. Fails the test on bad
 * text. */
socklen_t gale_sim_test_addr(const char *text, uint16_t port, struct sockaddr_storage *out);

/* "127.0.0.1:40000" or "[::1]:40000" into buf (fails the test on other families). */
void gale_sim_test_addr_text(const struct sockaddr_storage *addr, char *buf, size_t buf_len);

/* The fd's local (peer == false) or peer address as text, asserting the op returns 0. */
void gale_sim_test_fd_addr(struct gale_driver *driver, int fd, bool peer, char *buf,
			   size_t buf_len);

/* Options for exact tests: no faults, latency fixed at latency_ns, default buffers. */
struct gale_sim_options gale_sim_test_options(int64_t latency_ns);

/* One wait(): returns the count and copies at most 8 events to events_out. */
int gale_sim_test_wait(struct gale_driver *driver, int64_t timeout_ns,
		       struct gale_event events_out[8]);

/* Asserts the sim has nothing open, passes the stream check, and deinits it. */
void gale_sim_test_finish(struct gale_sim *sim);

#endif /* GALE_TESTS_SIM_TEST_SUPPORT_H */
