/* SPDX-License-Identifier: MIT */
/*
 * The simulator's resolver (sim_resolve.h): a name table and seeded resolver faults.
 *
 * Methodology: each query's whole answer (error or addresses, order, dead address, delay)
 * is decided when it starts, from the fault source (the run's seed), and handed to the
 * resolve query with its deadline; the query waits on the runtime's (virtual) timers. So
 * a replay makes the same decisions at the same virtual instants, every injected fault is
 * counted and traced by the source, and cancelling a query needs no bookkeeping here.
 * Reproduce a failing seed with the runner's replay (`gale replay SCENARIO SEED`).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include <gale/error.h>
#include <gale/sim_resolve.h>

#include "sim_internal.h"

#define MS (1000 * 1000LL)

/* ---- Fault sources ---- */

static bool sim_source_roll(void *data, enum gale_fault_kind kind)
{
	return gale__sim_fault(data, kind, -1);
}

static uint64_t sim_source_range(void *data, uint64_t min, uint64_t max)
{
	assert(max <= INT64_MAX);
	return (uint64_t)gale__sim_range(data, (int64_t)min, (int64_t)max);
}

static bool resolve_roll(struct gale_sim_resolver *resolver, enum gale_fault_kind kind)
{
	const struct gale_sim_resolve_faults *faults = &resolver->priv_faults;
	return faults->roll != NULL && faults->roll(faults->data, kind);
}

static uint64_t resolve_range(struct gale_sim_resolver *resolver, uint64_t min, uint64_t max)
{
	const struct gale_sim_resolve_faults *faults = &resolver->priv_faults;
	if (min == max || faults->range == NULL)
		return min;
	return faults->range(faults->data, min, max);
}

/* ---- The table ---- */

static struct gale_sim_resolve_name *name_find(struct gale_sim_resolver *resolver,
					       const char *name)
{
	for (uint32_t i = 0; i < resolver->priv_name_count; i++) {
		if (strcasecmp(resolver->priv_names[i].name, name) == 0)
			return &resolver->priv_names[i];
	}
	return NULL;
}

static bool name_text_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > GALE_SIM_RESOLVE_NAME_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* ip text as an address with port 0. 0 or -EINVAL. */
static int ip_parse(const char *ip, struct sockaddr_storage *addr_out)
{
	memset(addr_out, 0, sizeof(*addr_out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr_out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr_out;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static socklen_t addr_len(const struct sockaddr_storage *addr)
{
	return addr->ss_family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
					  : (socklen_t)sizeof(struct sockaddr_in6);
}

int gale_sim_resolver_name_add(struct gale_sim_resolver *resolver, const char *name,
			       const char *ip)
{
	assert(resolver != NULL && resolver->base.ops != NULL);
	if (name == NULL || ip == NULL || !name_text_is_valid(name))
		return -EINVAL;
	struct sockaddr_storage addr;
	if (ip_parse(ip, &addr) < 0)
		return -EINVAL;
	struct gale_sim_resolve_name *entry = name_find(resolver, name);
	if (entry == NULL) {
		if (resolver->priv_name_count == GALE_SIM_RESOLVE_NAMES_MAX)
			return -ENOSPC;
		entry = &resolver->priv_names[resolver->priv_name_count++];
		memset(entry, 0, sizeof(*entry));
		memcpy(entry->name, name, strlen(name) + 1);
	}
	for (uint32_t i = 0; i < entry->addr_count; i++) {
		if (memcmp(&entry->addrs[i], &addr, addr_len(&addr)) == 0)
			return -EEXIST;
	}
	if (entry->addr_count == GALE_SIM_RESOLVE_NAME_ADDRS_MAX)
		return -ENOSPC;
	entry->addrs[entry->addr_count++] = addr;
	return 0;
}

/* ---- Answers ---- */

/* An address of family no host owns: the documentation ranges (RFC 5737, RFC 3849). */
static void dead_addr_make(struct gale_sim_resolver *resolver, int family,
			   struct sockaddr_storage *addr_out)
{
	memset(addr_out, 0, sizeof(*addr_out));
	uint8_t last = (uint8_t)resolve_range(resolver, 1, 254);
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)addr_out;
		v4->sin_family = AF_INET;
		v4->sin_addr.s_addr = htonl(0xc0000200u | last); /* 192.0.2.last */
		return;
	}
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr_out;
	v6->sin6_family = AF_INET6;
	static const uint8_t prefix[4] = {0x20, 0x01, 0x0d, 0xb8}; /* 2001:db8::last */
	memcpy(v6->sin6_addr.s6_addr, prefix, sizeof(prefix));
	v6->sin6_addr.s6_addr[15] = last;
}

/* The answer's addresses, in order: the query's family only, a dead one first if the
 * dice say so, then maybe all of them shuffled. Adds them to query; 0 or
 * GALE_E_RESOLVE_NO_ADDRESS. */
static int answer_addrs(struct gale_sim_resolver *resolver, struct gale_resolve_query *query,
			const struct gale_sim_resolve_name *entry)
{
	int family = gale_resolve_query_family(query);
	struct sockaddr_storage answer[GALE_SIM_RESOLVE_NAME_ADDRS_MAX + 1];
	uint32_t count = 0;
	for (uint32_t i = 0; i < entry->addr_count; i++) {
		if (family != AF_UNSPEC && entry->addrs[i].ss_family != family)
			continue;
		if (count == 0 && resolve_roll(resolver, GALE_FAULT_RESOLVE_DEAD_ADDRESS))
			dead_addr_make(resolver, entry->addrs[i].ss_family, &answer[count++]);
		answer[count++] = entry->addrs[i];
	}
	if (count == 0)
		return GALE_E_RESOLVE_NO_ADDRESS;
	if (count >= 2 && resolve_roll(resolver, GALE_FAULT_RESOLVE_SHUFFLE)) {
		for (uint32_t i = count - 1; i > 0; i--) {
			uint32_t j = (uint32_t)resolve_range(resolver, 0, i);
			struct sockaddr_storage swap = answer[i];
			answer[i] = answer[j];
			answer[j] = swap;
		}
	}
	for (uint32_t i = 0; i < count; i++)
		(void)gale_resolve_query_addr_add(query, (const struct sockaddr *)&answer[i],
						  addr_len(&answer[i]));
	return 0;
}

static int sim_resolver_query_start(struct gale_resolver *base, struct gale_resolve_query *query)
{
	struct gale_sim_resolver *resolver = (struct gale_sim_resolver *)base;
	assert(query != NULL);
	resolver->priv_queries_count++;
	int64_t now_ns = gale_runtime_now_ns(gale_resolve_query_runtime(query));
	int64_t due_ns = now_ns + resolver->latency_ns;
	const struct gale_sim_resolve_name *entry = name_find(resolver,
							      gale_resolve_query_name(query));
	int result = GALE_E_RESOLVE_NOT_FOUND;
	if (entry != NULL && resolve_roll(resolver, GALE_FAULT_RESOLVE_TIMEOUT)) {
		result = GALE_E_RESOLVE_TIMED_OUT;
		due_ns = now_ns + resolver->timeout_ns;
	} else if (entry != NULL && resolve_roll(resolver, GALE_FAULT_RESOLVE_NOT_FOUND)) {
		result = GALE_E_RESOLVE_NOT_FOUND;
	} else if (entry != NULL && resolve_roll(resolver, GALE_FAULT_RESOLVE_SERVER_FAILURE)) {
		result = GALE_E_RESOLVE_SERVER_FAILURE;
	} else if (entry != NULL) {
		result = answer_addrs(resolver, query, entry);
	}
	if (entry != NULL && result != GALE_E_RESOLVE_TIMED_OUT &&
	    resolve_roll(resolver, GALE_FAULT_RESOLVE_SLOW))
		due_ns += (int64_t)resolve_range(resolver, 1, (uint64_t)resolver->slow_ns_max);
	gale_resolve_query_answer(query, result, due_ns);
	return 0;
}

static void sim_resolver_query_cancel(struct gale_resolver *base, struct gale_resolve_query *query)
{
	/* Never called: every query is answered in query_start (its deadline is the
	 * query's own timer). */
	(void)base;
	(void)query;
	assert(!"sim resolver: no query is ever left started");
}

static void sim_resolver_deinit(struct gale_resolver *base)
{
	struct gale_sim_resolver *resolver = (struct gale_sim_resolver *)base;
	resolver->priv_name_count = 0;
}

static const struct gale_resolver_ops sim_resolver_ops = {
	.abi_version = GALE_RESOLVER_ABI_VERSION,
	.name = "sim",
	.query_start = sim_resolver_query_start,
	.query_cancel = sim_resolver_query_cancel,
	.deinit = sim_resolver_deinit,
};

void gale_sim_resolver_init_with(struct gale_sim_resolver *resolver,
				 const struct gale_sim_resolve_faults *faults)
{
	assert(resolver != NULL);
	assert(faults == NULL || faults->roll == NULL || faults->range != NULL);
	memset(resolver, 0, sizeof(*resolver));
	resolver->base.ops = &sim_resolver_ops;
	resolver->latency_ns = 1 * MS;
	resolver->timeout_ns = 2000 * MS;
	resolver->slow_ns_max = 500 * MS;
	if (faults != NULL)
		resolver->priv_faults = *faults;
}

void gale_sim_resolver_init(struct gale_sim_resolver *resolver, struct gale_sim *sim)
{
	assert(resolver != NULL && sim != NULL && sim->base.ops != NULL);
	struct gale_sim_resolve_faults faults = {
		.roll = sim_source_roll,
		.range = sim_source_range,
		.data = gale__sim_state(&sim->base),
	};
	gale_sim_resolver_init_with(resolver, &faults);
}

uint64_t gale_sim_resolver_queries_count(const struct gale_sim_resolver *resolver)
{
	assert(resolver != NULL);
	return resolver->priv_queries_count;
}
