/* SPDX-License-Identifier: MIT */
/* Helpers shared by the simulator's tests (see sim_test_support.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sim_test_support.h"
#include "test_support.h"

socklen_t gale_sim_test_addr(const char *text, uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, text, &in4.sin_addr) == 1) {
		memcpy(out, &in4, sizeof(in4));
		return (socklen_t)sizeof(in4);
	}
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	assert_int_equal(inet_pton(AF_INET6, text, &in6.sin6_addr), 1);
	memcpy(out, &in6, sizeof(in6));
	return (socklen_t)sizeof(in6);
}

void gale_sim_test_addr_text(const struct sockaddr_storage *addr, char *buf, size_t buf_len)
{
	char text[INET6_ADDRSTRLEN];
	if (addr->ss_family == AF_INET) {
		struct sockaddr_in in4;
		memcpy(&in4, addr, sizeof(in4));
		assert_non_null(inet_ntop(AF_INET, &in4.sin_addr, text, sizeof(text)));
		snprintf(buf, buf_len, "%s:%u", text, (unsigned)ntohs(in4.sin_port));
		return;
	}
	assert_int_equal(addr->ss_family, AF_INET6);
	struct sockaddr_in6 in6;
	memcpy(&in6, addr, sizeof(in6));
	assert_non_null(inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text)));
	snprintf(buf, buf_len, "[%s]:%u", text, (unsigned)ntohs(in6.sin6_port));
}

void gale_sim_test_fd_addr(struct gale_driver *driver, int fd, bool peer, char *buf,
			   size_t buf_len)
{
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	int rc = peer ? gale_driver_addr_peer(driver, fd, &addr, &addr_len)
		      : gale_driver_addr_local(driver, fd, &addr, &addr_len);
	assert_int_equal(rc, 0);
	assert_int_equal(addr_len, addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							      : sizeof(struct sockaddr_in6));
	gale_sim_test_addr_text(&addr, buf, buf_len);
}

struct gale_sim_options gale_sim_test_options(int64_t latency_ns)
{
	struct gale_sim_options options = gale_sim_options_default();
	options.latency_ns_min = latency_ns;
	options.latency_ns_max = latency_ns;
	return options;
}

int gale_sim_test_wait(struct gale_driver *driver, int64_t timeout_ns,
		       struct gale_event events_out[8])
{
	struct gale_event events[8];
	int count = gale_driver_wait(driver, events, 8, timeout_ns);
	for (int i = 0; i < count; i++)
		events_out[i] = events[i];
	return count;
}

void gale_sim_test_finish(struct gale_sim *sim)
{
	char message[256];
	struct gale_sim_leaks leaks;
	uint32_t leaked = gale_sim_leaks(sim, &leaks);
	if (leaked != 0) {
		gale_sim_fd_describe(sim, leaks.fds[0], message, sizeof(message));
		fail_msg("leaked %u fds, %u registrations; first: %s", leaks.fds_open_count,
			 leaks.registrations_count, message);
	}
	int check = gale_sim_check_streams(sim, message, sizeof(message));
	if (check != GALE_SIM_CHECK_OK)
		fail_msg("%s", message);
	assert_int_equal(gale_sim_deinit(sim), 0);
}
