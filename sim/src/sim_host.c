/* SPDX-License-Identifier: MIT */
/*
 * The simulated network's addressing (below sim_net.c): hosts and the addresses they own,
 * sockaddr conversion, the port map (who holds which family/address/port, who listens),
 * deterministic ephemeral ports, and partitions between hosts.
 *
 * The port map is an open-addressing hash table keyed by (family, host or ANY, port). Its
 * hash mixes only those numbers and nothing ever iterates it, so its layout cannot leak
 * into a run's behaviour.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define PORTS_CAP_MIN 64u
#define EPHEMERAL_PORT_LAST 65535u

/* ---- Hosts --------------------------------------------------------------------------- */

void gale__sim_hosts_init(struct gale_sim_state *state)
{
	assert(state != NULL);
	struct sim_host *localhost = &state->hosts[0];
	*localhost = (struct sim_host){.has_v4 = true, .has_v6 = true};
	const uint8_t loopback_v4[4] = {127, 0, 0, 1};
	memcpy(localhost->v4, loopback_v4, sizeof(loopback_v4));
	localhost->v6[15] = 1;
	localhost->port_next = GALE_SIM_EPHEMERAL_PORT_FIRST;
	state->hosts_count = 1;
}

static bool bytes_are_zero(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] != 0)
			return false;
	}
	return true;
}

/* The host owning an address, or SIM_HOST_UNKNOWN. */
static uint16_t host_find(const struct gale_sim_state *state, uint8_t family,
			  const uint8_t *bytes)
{
	for (uint32_t i = 0; i < state->hosts_count; i++) {
		const struct sim_host *host = &state->hosts[i];
		if (family == SIM_FAMILY_V4 && host->has_v4 && memcmp(host->v4, bytes, 4) == 0)
			return (uint16_t)i;
		if (family == SIM_FAMILY_V6 && host->has_v6 && memcmp(host->v6, bytes, 16) == 0)
			return (uint16_t)i;
	}
	return SIM_HOST_UNKNOWN;
}

bool gale__sim_host_has_family(const struct gale_sim_state *state, uint32_t host,
			       uint8_t family)
{
	if (host >= state->hosts_count)
		return false;
	return family == SIM_FAMILY_V4 ? state->hosts[host].has_v4 : state->hosts[host].has_v6;
}

int gale__sim_host_add(struct gale_sim_state *state, const char *text, uint32_t *host_id_out)
{
	assert(state != NULL && text != NULL);
	struct sim_host host = {.port_next = GALE_SIM_EPHEMERAL_PORT_FIRST};
	uint8_t family;
	const uint8_t *bytes;
	if (inet_pton(AF_INET, text, host.v4) == 1) {
		host.has_v4 = true;
		family = SIM_FAMILY_V4;
		bytes = host.v4;
	} else if (inet_pton(AF_INET6, text, host.v6) == 1) {
		host.has_v6 = true;
		family = SIM_FAMILY_V6;
		bytes = host.v6;
	} else {
		return -EINVAL;
	}
	if (bytes_are_zero(bytes, family == SIM_FAMILY_V4 ? 4 : 16))
		return -EINVAL;
	if (host_find(state, family, bytes) != SIM_HOST_UNKNOWN)
		return -EEXIST;
	if (state->hosts_count == GALE_SIM_HOSTS_MAX)
		return -ENOSPC;
	state->hosts[state->hosts_count] = host;
	if (host_id_out != NULL)
		*host_id_out = state->hosts_count;
	state->hosts_count++;
	return 0;
}

/* ---- Socket addresses ---------------------------------------------------------------- */

int gale__sim_addr_parse(const struct gale_sim_state *state, uint8_t family,
			 const struct sockaddr *addr, socklen_t addr_len, struct sim_addr *out)
{
	assert(addr != NULL && out != NULL);
	if (addr_len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	sa_family_t expected = family == SIM_FAMILY_V4 ? AF_INET : AF_INET6;
	if (addr->sa_family != expected)
		return -EAFNOSUPPORT;
	uint8_t bytes[16] = {0};
	size_t bytes_len;
	uint16_t port_network;
	if (family == SIM_FAMILY_V4) {
		struct sockaddr_in in4;
		if (addr_len < (socklen_t)sizeof(in4))
			return -EINVAL;
		memcpy(&in4, addr, sizeof(in4)); /* Copied: the caller's may be unaligned. */
		memcpy(bytes, &in4.sin_addr, 4);
		bytes_len = 4;
		port_network = in4.sin_port;
	} else {
		struct sockaddr_in6 in6;
		if (addr_len < (socklen_t)sizeof(in6))
			return -EINVAL;
		memcpy(&in6, addr, sizeof(in6));
		memcpy(bytes, &in6.sin6_addr, 16);
		bytes_len = 16;
		port_network = in6.sin6_port;
	}
	out->family = family;
	out->port = ntohs(port_network);
	out->host = bytes_are_zero(bytes, bytes_len) ? SIM_HOST_ANY
						      : host_find(state, family, bytes);
	return 0;
}

void gale__sim_addr_format(const struct gale_sim_state *state, const struct sim_addr *addr,
			   struct sockaddr_storage *out, socklen_t *len_out)
{
	assert(addr != NULL && out != NULL && len_out != NULL);
	memset(out, 0, sizeof(*out));
	const struct sim_host *host = addr->host < state->hosts_count ? &state->hosts[addr->host]
								       : NULL;
	if (addr->family == SIM_FAMILY_V4) {
		struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(addr->port)};
		if (host != NULL)
			memcpy(&in4.sin_addr, host->v4, 4);
		memcpy(out, &in4, sizeof(in4));
		*len_out = (socklen_t)sizeof(in4);
		return;
	}
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(addr->port)};
	if (host != NULL)
		memcpy(&in6.sin6_addr, host->v6, 16);
	memcpy(out, &in6, sizeof(in6));
	*len_out = (socklen_t)sizeof(in6);
}

int gale__sim_addr_text(const struct gale_sim_state *state, const struct sim_addr *addr,
			char *buf, size_t buf_len)
{
	static const uint8_t zeros[16] = {0};
	const struct sim_host *host = addr->host < state->hosts_count ? &state->hosts[addr->host]
								       : NULL;
	char text[INET6_ADDRSTRLEN] = "?";
	if (addr->family == SIM_FAMILY_V4) {
		(void)inet_ntop(AF_INET, host != NULL ? host->v4 : zeros, text, sizeof(text));
		return snprintf(buf, buf_len, "%s:%u", text, (unsigned)addr->port);
	}
	(void)inet_ntop(AF_INET6, host != NULL ? host->v6 : zeros, text, sizeof(text));
	return snprintf(buf, buf_len, "[%s]:%u", text, (unsigned)addr->port);
}

/* ---- The port map -------------------------------------------------------------------- */

static uint64_t port_key(uint8_t family, uint32_t host, uint32_t port)
{
	return ((uint64_t)family << 32 | (uint64_t)host << 16 | port) + 1;
}

static uint32_t key_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= UINT64_C(0xFF51AFD7ED558CCD);
	key ^= key >> 33;
	return (uint32_t)key;
}

static struct sim_port_entry *port_find(const struct gale_sim_state *state, uint64_t key)
{
	if (state->ports_cap == 0)
		return NULL;
	uint32_t mask = state->ports_cap - 1;
	for (uint32_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
		struct sim_port_entry *entry = &state->ports[i];
		if (entry->key == key)
			return entry;
		if (entry->key == 0)
			return NULL;
	}
}

/* A fresh slot for key (not present) in a table with room. */
static struct sim_port_entry *port_slot_free(struct sim_port_entry *ports, uint32_t cap,
					     uint64_t key)
{
	uint32_t mask = cap - 1;
	uint32_t i = key_hash(key) & mask;
	while (ports[i].key != 0)
		i = (i + 1) & mask;
	return &ports[i];
}

static int ports_grow(struct gale_sim_state *state)
{
	uint32_t cap = state->ports_cap == 0 ? PORTS_CAP_MIN : state->ports_cap * 2;
	struct sim_port_entry *ports = calloc(cap, sizeof(*ports));
	if (ports == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < state->ports_cap; i++) {
		if (state->ports[i].key != 0)
			*port_slot_free(ports, cap, state->ports[i].key) = state->ports[i];
	}
	free(state->ports);
	state->ports = ports;
	state->ports_cap = cap;
	return 0;
}

static struct sim_port_entry *port_insert(struct gale_sim_state *state, uint64_t key)
{
	struct sim_port_entry *entry = port_find(state, key);
	if (entry != NULL)
		return entry;
	/* At most half full, so probes stay short. */
	if ((state->ports_len + 1) * 2 > state->ports_cap && ports_grow(state) < 0)
		return NULL;
	entry = port_slot_free(state->ports, state->ports_cap, key);
	*entry = (struct sim_port_entry){.key = key, .listener_fd = -1};
	state->ports_len++;
	return entry;
}

/* Linear-probing deletion by backward shift: no tombstones, probes stay exact. */
static void port_remove(struct gale_sim_state *state, struct sim_port_entry *entry)
{
	assert(entry->key != 0 && entry->sockets_count == 0);
	assert(state->ports_len > 0);
	uint32_t mask = state->ports_cap - 1;
	uint32_t hole = (uint32_t)(entry - state->ports);
	for (uint32_t i = (hole + 1) & mask; state->ports[i].key != 0; i = (i + 1) & mask) {
		uint32_t home = key_hash(state->ports[i].key) & mask;
		/* Move it into the hole unless its home lies cyclically in (hole, i]. */
		bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
		if (!stays) {
			state->ports[hole] = state->ports[i];
			hole = i;
		}
	}
	state->ports[hole] = (struct sim_port_entry){0};
	state->ports_len--;
}

void gale__sim_ports_deinit(struct gale_sim_state *state)
{
	free(state->ports);
	state->ports = NULL;
	state->ports_cap = 0;
	state->ports_len = 0;
}

/* The keys an address overlaps: itself, plus the wildcard, or every host for a wildcard. */
static uint32_t overlap_keys(const struct gale_sim_state *state, struct sim_addr addr,
			     uint64_t keys[GALE_SIM_HOSTS_MAX + 1])
{
	uint32_t count = 0;
	keys[count++] = port_key(addr.family, SIM_HOST_ANY, addr.port);
	if (addr.host != SIM_HOST_ANY) {
		keys[count++] = port_key(addr.family, addr.host, addr.port);
		return count;
	}
	for (uint32_t host = 0; host < state->hosts_count; host++) {
		if (gale__sim_host_has_family(state, host, addr.family))
			keys[count++] = port_key(addr.family, host, addr.port);
	}
	return count;
}

/* reuse: whether the new holder may share (SO_REUSEADDR); false asks "is it in use". */
static bool port_conflicts(const struct gale_sim_state *state, struct sim_addr addr,
			   bool reuse)
{
	uint64_t keys[GALE_SIM_HOSTS_MAX + 1];
	uint32_t count = overlap_keys(state, addr, keys);
	for (uint32_t i = 0; i < count; i++) {
		const struct sim_port_entry *entry = port_find(state, keys[i]);
		if (entry == NULL || entry->sockets_count == 0)
			continue;
		if (!reuse || entry->listener_fd >= 0 || entry->reuse_count < entry->sockets_count)
			return true;
	}
	return false;
}

/* The next free ephemeral port of the address's host (localhost's for the wildcard). */
static int ephemeral_pick(struct gale_sim_state *state, struct sim_addr *addr)
{
	struct sim_host *host = &state->hosts[addr->host == SIM_HOST_ANY ? 0 : addr->host];
	uint32_t range = EPHEMERAL_PORT_LAST - GALE_SIM_EPHEMERAL_PORT_FIRST + 1;
	for (uint32_t tries = 0; tries < range; tries++) {
		addr->port = (uint16_t)host->port_next;
		host->port_next = host->port_next == EPHEMERAL_PORT_LAST
					  ? GALE_SIM_EPHEMERAL_PORT_FIRST
					  : host->port_next + 1;
		if (!port_conflicts(state, *addr, false))
			return 0;
	}
	return -EADDRINUSE;
}

int gale__sim_port_hold(struct gale_sim_state *state, int fd, struct sim_addr addr, bool reuse)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && !entry->is_bound);
	uint64_t key = port_key(addr.family, addr.host, addr.port);
	struct sim_port_entry *port = port_insert(state, key);
	if (port == NULL)
		return -ENOMEM;
	port->sockets_count++;
	if (reuse)
		port->reuse_count++;
	entry->is_bound = true;
	entry->bound_reuse = reuse;
	entry->bind_key = key;
	entry->local = addr;
	return 0;
}

int gale__sim_port_bind(struct gale_sim_state *state, int fd, struct sim_addr addr)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && !entry->is_bound);
	if (addr.host == SIM_HOST_UNKNOWN ||
	    (addr.host != SIM_HOST_ANY && !gale__sim_host_has_family(state, addr.host,
								     addr.family)))
		return -EADDRNOTAVAIL;
	bool reuse = entry->opts[GALE_SOCKOPT_REUSEADDR] != 0;
	if (addr.port == 0) {
		int rc = ephemeral_pick(state, &addr);
		if (rc < 0)
			return rc;
	} else if (port_conflicts(state, addr, reuse)) {
		return -EADDRINUSE;
	}
	return gale__sim_port_hold(state, fd, addr, reuse);
}

void gale__sim_port_unbind(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL);
	if (!entry->is_bound)
		return;
	struct sim_port_entry *port = port_find(state, entry->bind_key);
	assert(port != NULL && port->sockets_count > 0);
	port->sockets_count--;
	if (entry->bound_reuse)
		port->reuse_count--;
	if (port->listener_fd == fd)
		port->listener_fd = -1;
	if (port->sockets_count == 0)
		port_remove(state, port);
	entry->is_bound = false;
}

int gale__sim_port_listen(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL && entry->is_bound);
	uint64_t keys[GALE_SIM_HOSTS_MAX + 1];
	uint32_t count = overlap_keys(state, entry->local, keys);
	for (uint32_t i = 0; i < count; i++) {
		const struct sim_port_entry *port = port_find(state, keys[i]);
		if (port != NULL && port->listener_fd >= 0 && port->listener_fd != fd)
			return -EADDRINUSE;
	}
	struct sim_port_entry *own = port_find(state, entry->bind_key);
	assert(own != NULL);
	own->listener_fd = fd;
	return 0;
}

int gale__sim_port_listener(const struct gale_sim_state *state, struct sim_addr addr)
{
	assert(addr.host != SIM_HOST_ANY);
	const struct sim_port_entry *port =
		port_find(state, port_key(addr.family, addr.host, addr.port));
	if (port != NULL && port->listener_fd >= 0)
		return port->listener_fd;
	port = port_find(state, port_key(addr.family, SIM_HOST_ANY, addr.port));
	return port != NULL ? port->listener_fd : -1;
}

/* ---- Partitions ---------------------------------------------------------------------- */

int64_t gale__sim_partition_heal_ns(struct gale_sim_state *state, uint32_t host_a,
				    uint32_t host_b)
{
	assert(host_a != host_b);
	uint16_t low = (uint16_t)(host_a < host_b ? host_a : host_b);
	uint16_t high = (uint16_t)(host_a < host_b ? host_b : host_a);
	for (uint32_t i = 0; i < state->partitions_len;) {
		struct sim_partition *partition = &state->partitions[i];
		if (partition->heal_ns <= state->now_ns) {
			/* Healed: forget it (swap-remove; lookups never depend on order). */
			*partition = state->partitions[--state->partitions_len];
			continue;
		}
		if (partition->host_a == low && partition->host_b == high)
			return partition->heal_ns;
		i++;
	}
	const struct gale_fault_profile *profile = state->options.profile;
	if (profile == NULL || profile->partition_ns_max <= 0 ||
	    state->partitions_len == SIM_PARTITIONS_MAX ||
	    !gale__sim_fault(state, GALE_FAULT_PARTITION, -1))
		return INT64_MIN;
	int64_t heal_ns = gale__sim_time_after(
		state->now_ns, gale__sim_range(state, 1, profile->partition_ns_max));
	state->partitions[state->partitions_len++] = (struct sim_partition){
		.host_a = low,
		.host_b = high,
		.heal_ns = heal_ns,
	};
	return heal_ns;
}
