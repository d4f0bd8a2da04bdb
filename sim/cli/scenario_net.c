/* SPDX-License-Identifier: MIT */
/* TCP scaffolding for scenarios (<gale/scenario_net.h>): hosts on first use, listen, connect. */
#include <errno.h>

#include <gale/scenario_net.h>
#include <gale/sim.h>

int gale_scenario_host(struct gale_scenario_run *run, const char *ip)
{
	return gale_scenario_host_add(run, ip);
}

int gale_scenario_listen(struct gale_scenario_run *run, const char *ip, uint16_t port,
			 int backlog, struct gale_tcp_listener *listener_out,
			 struct gale_socket_addr *addr_out)
{
	struct gale_socket_addr addr;
	int rc = gale_scenario_host(run, ip);
	if (rc == 0)
		rc = gale_socket_addr_from_ip(ip, port, &addr);
	if (rc == 0)
		rc = gale_tcp_listener_bind(listener_out, &run->runtime, &addr, backlog);
	if (rc == 0 && addr_out != NULL)
		*addr_out = addr;
	return rc;
}

int gale_scenario_connect_init(struct gale_scenario_run *run, struct gale_tcp_connect *future,
			       const char *from_ip, const struct gale_socket_addr *to,
			       struct gale_socket_addr *local_out)
{
	int rc = gale_scenario_host(run, from_ip);
	if (rc == 0)
		rc = gale_socket_addr_from_ip(from_ip, 0, local_out);
	if (rc != 0)
		return rc;
	gale_tcp_connect_init(future, &run->runtime, to, 1);
	gale_tcp_connect_bind(future, local_out);
	return 0;
}
