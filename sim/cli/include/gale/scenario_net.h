/* SPDX-License-Identifier: MIT */
/**
 * @file scenario_net.h
 * TCP scaffolding for scenarios (part of gale::test, which links net): a server listening
 * on a simulated host, and clients connecting from hosts of their own. Each host is added
 * on first use (a later use of the same address is not an error), so a scenario says only
 * where things are:
 *
 *     struct gale_socket_addr server;
 *     rc = gale_scenario_listen(run, "10.0.0.1", 7000, 0, &state->listener, &server);
 *     ...
 *     rc = gale_scenario_connect_init(run, &client->connect, "10.0.0.3", &server,
 *                                     &client->local);
 *
 * Without the second call's host, every client would connect from the first host added
 * (the simulator's rule for unbound sockets, like a kernel's routing table).
 */
#ifndef GALE_SCENARIO_NET_H
#define GALE_SCENARIO_NET_H

#include <stdint.h>

#include <gale/scenario.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Adds the simulated host that owns ip (IPv4 or IPv6 text, no port) unless one does.
 * @return 0, -EINVAL (not an address, or a wildcard), -ENOSPC (too many hosts).
 */
GALE_EXTERN int gale_scenario_host(struct gale_scenario_run *run, const char *ip);

/**
 * A listener on ip:port of its host (added if needed) on run's runtime.
 * @param backlog        0: GALE_TCP_LISTENER_BACKLOG_DEFAULT.
 * @param listener_out   caller-allocated; bound on 0 (close it in teardown, or the leak
 *                       oracle reports its fd).
 * @param addr_out       optional: the address clients connect to.
 * @return 0, or the error of gale_scenario_host() or gale_tcp_listener_bind().
 */
GALE_EXTERN int gale_scenario_listen(struct gale_scenario_run *run, const char *ip,
				     uint16_t port, int backlog,
				     struct gale_tcp_listener *listener_out,
				     struct gale_socket_addr *addr_out);

/**
 * Prepares a connect to `to` from host from_ip (added if needed; an ephemeral port):
 * gale_tcp_connect_init() then gale_tcp_connect_bind(). Poll and deinit the future as
 * usual.
 * @param to           borrowed until the connect completes or is deinit'd.
 * @param local_out    caller-allocated, holds the source address; it must outlive the
 *                     future (the future borrows it).
 * @return 0, or the error of gale_scenario_host() (the future is then untouched).
 */
GALE_EXTERN int gale_scenario_connect_init(struct gale_scenario_run *run,
					   struct gale_tcp_connect *future, const char *from_ip,
					   const struct gale_socket_addr *to,
					   struct gale_socket_addr *local_out);

#ifdef __cplusplus
}
#endif

#endif /* GALE_SCENARIO_NET_H */
