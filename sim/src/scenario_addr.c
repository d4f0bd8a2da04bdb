/* SPDX-License-Identifier: MIT */
/*
 * Simulated hosts on a real kernel (the EPOLL and FAULT_EPOLL backends, scenario.h): each
 * host a scenario adds stands on a loopback address of its own (127.0.0.2, 127.0.0.3, ...;
 * every IPv6 host on ::1), and every port it binds is the kernel's choice. The runner's
 * driver rewrites addresses both ways with this map, so scenario code sees only its own
 * addresses and nothing ever leaves the machine: an address no host owns is refused here.
 *
 * Pure bookkeeping (inet_pton and memcmp): no syscall, no clock.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

/* 127.0.0.1 stays localhost; hosts take 127.0.0.2 up to 127.0.0.254 (/8 is all loopback). */
#define LOOPBACK_V4_FIRST 2u
#define LOOPBACK_V4_LAST 254u

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* The address bytes of a sockaddr of family AF_INET or AF_INET6, and its port. */
static const uint8_t *sockaddr_ip(const struct sockaddr_storage *addr, uint16_t *port_out)
{
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
		*port_out = ntohs(in->sin_port);
		return (const uint8_t *)&in->sin_addr;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
	*port_out = ntohs(in6->sin6_port);
	return (const uint8_t *)&in6->sin6_addr;
}

static void sockaddr_set(struct sockaddr_storage *addr, const uint8_t *ip, uint16_t port)
{
	if (addr->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)addr;
		memcpy(&in->sin_addr, ip, 4);
		in->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)addr;
		memcpy(&in6->sin6_addr, ip, 16);
		in6->sin6_port = htons(port);
	}
}

static bool ip_is_loopback(int family, const uint8_t *ip)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};
	return family == AF_INET ? ip[0] == 127 && ip[1] == 0 && ip[2] == 0 && ip[3] == 1
				 : memcmp(ip, v6_loopback, 16) == 0;
}

static bool ip_is_wildcard(int family, const uint8_t *ip)
{
	static const uint8_t zeros[16] = {0};
	return memcmp(ip, zeros, family_len(family)) == 0;
}

static void ip_loopback(int family, uint8_t *ip_out)
{
	memset(ip_out, 0, 16);
	if (family == AF_INET) {
		ip_out[0] = 127;
		ip_out[3] = 1;
	} else {
		ip_out[15] = 1;
	}
}

static const struct scenario_host *host_by_sim(const struct scenario_addr_map *map, int family,
					       const uint8_t *ip)
{
	for (uint32_t i = 0; i < map->hosts_count; i++) {
		const struct scenario_host *host = &map->hosts[i];
		if (host->family == family && memcmp(host->sim, ip, family_len(family)) == 0)
			return host;
	}
	return NULL;
}

int gale__scenario_addr_host_add(struct scenario_addr_map *map, const char *ip)
{
	assert(map != NULL);
	if (ip == NULL)
		return -EINVAL;
	uint8_t bytes[16] = {0};
	int family = AF_INET;
	if (inet_pton(AF_INET, ip, bytes) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, ip, bytes) != 1)
			return -EINVAL;
	}
	if (ip_is_wildcard(family, bytes))
		return -EINVAL;
	if (ip_is_loopback(family, bytes) || host_by_sim(map, family, bytes) != NULL)
		return 0; /* localhost, or added already. */
	if (map->hosts_count == GALE_SIM_HOSTS_MAX ||
	    (family == AF_INET && map->v4_next > LOOPBACK_V4_LAST))
		return -ENOSPC;
	struct scenario_host *host = &map->hosts[map->hosts_count++];
	host->family = family;
	memcpy(host->sim, bytes, 16);
	ip_loopback(family, host->real);
	if (family == AF_INET) {
		if (map->v4_next == 0)
			map->v4_next = LOOPBACK_V4_FIRST;
		host->real[3] = (uint8_t)map->v4_next++;
	}
	return 0;
}

/* The scenario's address standing for a kernel address (NULL: none; it is its own). */
static const struct scenario_host *host_by_real(const struct scenario_addr_map *map, int family,
						const uint8_t *ip)
{
	if (family == AF_INET6)
		return NULL; /* Every IPv6 host is ::1: only a binding can tell them apart. */
	for (uint32_t i = 0; i < map->hosts_count; i++) {
		const struct scenario_host *host = &map->hosts[i];
		if (host->family == AF_INET && memcmp(host->real, ip, 4) == 0)
			return host;
	}
	return NULL;
}

bool gale__scenario_addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != AF_INET && a->ss_family != AF_INET6)
		return false;
	if (a->ss_family != b->ss_family)
		return false;
	uint16_t port_a;
	uint16_t port_b;
	const uint8_t *ip_a = sockaddr_ip(a, &port_a);
	const uint8_t *ip_b = sockaddr_ip(b, &port_b);
	return port_a == port_b && memcmp(ip_a, ip_b, family_len(a->ss_family)) == 0;
}

int gale__scenario_addr_to_real(const struct scenario_addr_map *map, const struct sockaddr *addr,
				socklen_t len, bool for_bind, struct sockaddr_storage *real_out,
				socklen_t *real_len_out)
{
	assert(map != NULL && real_out != NULL && real_len_out != NULL);
	if (addr == NULL)
		return -EINVAL;
	socklen_t want = addr->sa_family == AF_INET	  ? (socklen_t)sizeof(struct sockaddr_in)
			 : addr->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
						       : 0;
	if (want == 0)
		return -EAFNOSUPPORT;
	if (len < want)
		return -EINVAL;
	memset(real_out, 0, sizeof(*real_out));
	memcpy(real_out, addr, want);
	*real_len_out = want;
	for (uint32_t i = 0; !for_bind && i < map->bindings_len; i++) {
		if (gale__scenario_addr_same(&map->bindings[i].sim, real_out)) {
			*real_out = map->bindings[i].real;
			return 0;
		}
	}
	uint16_t port;
	const uint8_t *ip = sockaddr_ip(real_out, &port);
	uint8_t mapped[16];
	const struct scenario_host *host = host_by_sim(map, addr->sa_family, ip);
	if (host != NULL)
		memcpy(mapped, host->real, 16);
	else if (ip_is_loopback(addr->sa_family, ip) || ip_is_wildcard(addr->sa_family, ip))
		ip_loopback(addr->sa_family, mapped); /* Never the real wildcard: loopback only. */
	else
		return for_bind ? -EADDRNOTAVAIL : -EHOSTUNREACH;
	sockaddr_set(real_out, mapped, for_bind ? 0 : port);
	return 0;
}

void gale__scenario_addr_to_sim(const struct scenario_addr_map *map,
				struct sockaddr_storage *addr)
{
	assert(map != NULL && addr != NULL);
	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return;
	for (uint32_t i = 0; i < map->bindings_len; i++) {
		if (gale__scenario_addr_same(&map->bindings[i].real, addr)) {
			*addr = map->bindings[i].sim;
			return;
		}
	}
	uint16_t port;
	const uint8_t *ip = sockaddr_ip(addr, &port);
	const struct scenario_host *host = host_by_real(map, addr->ss_family, ip);
	if (host != NULL)
		sockaddr_set(addr, host->sim, port);
}

bool gale__scenario_addr_bound(struct scenario_addr_map *map, int fd, const struct sockaddr *addr,
			       const struct sockaddr_storage *real)
{
	assert(map != NULL && addr != NULL && real != NULL);
	struct sockaddr_storage sim;
	memset(&sim, 0, sizeof(sim));
	memcpy(&sim, addr, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						      : sizeof(struct sockaddr_in6));
	uint16_t port;
	const uint8_t *ip = sockaddr_ip(&sim, &port);
	if (port == 0)
		return true; /* The kernel's port is the scenario's: nothing to rewrite. */
	if (ip_is_wildcard(sim.ss_family, ip)) {
		uint8_t loopback[16];
		ip_loopback(sim.ss_family, loopback);
		sockaddr_set(&sim, loopback, port); /* Where clients will connect to. */
	}
	if (map->bindings_len == map->bindings_cap) {
		uint32_t cap = map->bindings_cap == 0 ? 8 : map->bindings_cap * 2;
		struct scenario_binding *bindings = realloc(map->bindings, cap * sizeof(*bindings));
		if (bindings == NULL)
			return false;
		map->bindings = bindings;
		map->bindings_cap = cap;
	}
	map->bindings[map->bindings_len++] = (struct scenario_binding){fd, sim, *real};
	return true;
}

void gale__scenario_addr_closed(struct scenario_addr_map *map, int fd)
{
	assert(map != NULL);
	for (uint32_t i = map->bindings_len; i-- > 0;) {
		if (map->bindings[i].fd == fd)
			map->bindings[i] = map->bindings[--map->bindings_len];
	}
}

void gale__scenario_addr_deinit(struct scenario_addr_map *map)
{
	assert(map != NULL);
	free(map->bindings);
	*map = (struct scenario_addr_map){0};
}
