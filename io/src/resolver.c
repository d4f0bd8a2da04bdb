/* SPDX-License-Identifier: MIT */
/*
 * The resolve query future (resolver.h) and the runtime's resolver slot: validates the
 * name, answers IP literals itself, asks the runtime's resolver for anything else, and
 * holds an answer until its deadline on the runtime's timers (how a simulated resolver
 * is slow without a thread). inet_pton is pure libc: no I/O here.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <netinet/in.h>
#include <string.h>

#include <gale/error.h>
#include <gale/resolver.h>

/* enum for priv_state. */
enum query_state {
	QUERY_IDLE = 0,     /* Not polled yet. */
	QUERY_STARTED = 1,  /* The resolver holds it. */
	QUERY_ANSWERED = 2, /* Answered; waiting for its deadline. */
	QUERY_DONE = 3,     /* Returned its result. */
};

void gale_runtime_resolver_set(struct gale_runtime *runtime, struct gale_resolver *resolver)
{
	assert(runtime != NULL);
	assert(resolver == NULL || resolver->ops != NULL);
	runtime->priv_resolver = resolver;
}

struct gale_resolver *gale_runtime_resolver(const struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	return runtime->priv_resolver;
}

const char *gale_resolver_name(const struct gale_resolver *resolver)
{
	if (resolver == NULL || resolver->ops == NULL)
		return "none";
	return resolver->ops->name;
}

void gale_resolver_deinit(struct gale_resolver *resolver)
{
	assert(resolver != NULL);
	if (resolver->ops == NULL)
		return;
	const struct gale_resolver_ops *ops = resolver->ops;
	resolver->ops = NULL;
	if (ops->deinit != NULL)
		ops->deinit(resolver);
}

void gale_resolve_query_init(struct gale_resolve_query *query, struct gale_runtime *runtime,
			     const char *name, int family)
{
	assert(query != NULL && runtime != NULL && name != NULL);
	memset(query, 0, sizeof(*query));
	query->priv_runtime = runtime;
	query->priv_family = family;
	size_t len = strnlen(name, sizeof(query->priv_name));
	/* Too long: left empty, which the first poll refuses as a bad name. */
	if (len <= GALE_RESOLVE_NAME_MAX)
		memcpy(query->priv_name, name, len + 1);
	gale_sleep_init_until(&query->priv_sleep, runtime, 0);
}

const char *gale_resolve_query_name(const struct gale_resolve_query *query)
{
	assert(query != NULL);
	return query->priv_name;
}

int gale_resolve_query_family(const struct gale_resolve_query *query)
{
	assert(query != NULL);
	return query->priv_family;
}

struct gale_runtime *gale_resolve_query_runtime(const struct gale_resolve_query *query)
{
	assert(query != NULL);
	return query->priv_runtime;
}

/* Letters, digits, '-', '.', '_' (as getaddrinfo and c-ares accept), at most 253. */
static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > GALE_RESOLVE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			  c == ':' || c == '%';
		if (!ok)
			return false;
	}
	return true;
}

static bool family_matches(int wanted, int family)
{
	return wanted == AF_UNSPEC || wanted == family;
}

bool gale_resolve_query_addr_add(struct gale_resolve_query *query, const struct sockaddr *addr,
				 socklen_t addr_len)
{
	assert(query != NULL && addr != NULL);
	assert(query->priv_state == QUERY_STARTED || query->priv_state == QUERY_IDLE);
	int family = addr->sa_family;
	socklen_t want = family == AF_INET ? (socklen_t)sizeof(struct sockaddr_in)
					   : (socklen_t)sizeof(struct sockaddr_in6);
	if ((family != AF_INET && family != AF_INET6) || addr_len < want ||
	    !family_matches(query->priv_family, family) ||
	    query->addr_count == GALE_RESOLVE_ADDRS_MAX)
		return false;
	struct sockaddr_storage storage;
	memset(&storage, 0, sizeof(storage));
	memcpy(&storage, addr, want);
	if (family == AF_INET)
		((struct sockaddr_in *)&storage)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&storage)->sin6_port = 0;
	for (size_t i = 0; i < query->addr_count; i++) {
		if (query->addr_lens[i] == want && memcmp(&query->addrs[i], &storage, want) == 0)
			return false;
	}
	query->addrs[query->addr_count] = storage;
	query->addr_lens[query->addr_count] = want;
	query->addr_count++;
	return true;
}

void gale_resolve_query_answer(struct gale_resolve_query *query, int result, int64_t deadline_ns)
{
	assert(query != NULL);
	assert(query->priv_state == QUERY_STARTED && "answered twice or after cancel");
	assert(result <= 0);
	if (result == 0 && query->addr_count == 0)
		result = GALE_E_RESOLVE_NO_ADDRESS;
	query->priv_result = result;
	query->priv_state = QUERY_ANSWERED;
	gale_sleep_reset(&query->priv_sleep, deadline_ns);
	struct gale_waker waker = query->priv_waker;
	query->priv_waker = gale_waker_none();
	gale_waker_wake(&waker);
}

/* An IP literal answers itself: true (and the answer added) when name is one. */
static bool query_literal(struct gale_resolve_query *query)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	memset(&v4, 0, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	if (inet_pton(AF_INET, query->priv_name, &v4.sin_addr) == 1) {
		v4.sin_family = AF_INET;
		(void)gale_resolve_query_addr_add(query, (struct sockaddr *)&v4, sizeof(v4));
		return true;
	}
	if (inet_pton(AF_INET6, query->priv_name, &v6.sin6_addr) == 1) {
		v6.sin6_family = AF_INET6;
		(void)gale_resolve_query_addr_add(query, (struct sockaddr *)&v6, sizeof(v6));
		return true;
	}
	return false;
}

/* The first poll: checks, literals, then the resolver. A result, or GALE_PENDING. */
static int query_start(struct gale_resolve_query *query)
{
	int family = query->priv_family;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (!name_is_valid(query->priv_name))
		return GALE_E_RESOLVE_BAD_NAME;
	if (query_literal(query))
		return query->addr_count > 0 ? 0 : GALE_E_RESOLVE_NO_ADDRESS;
	struct gale_resolver *resolver = gale_runtime_resolver(query->priv_runtime);
	if (resolver == NULL || resolver->ops == NULL)
		return GALE_E_RESOLVE_NO_RESOLVER;
	query->priv_resolver = resolver;
	query->priv_state = QUERY_STARTED;
	int rc = resolver->ops->query_start(resolver, query);
	if (rc < 0) {
		assert(query->priv_state == QUERY_STARTED);
		query->priv_state = QUERY_IDLE;
		query->priv_resolver = NULL;
		return rc;
	}
	return GALE_PENDING;
}

int gale_resolve_query_poll(struct gale_resolve_query *query, struct gale_cx *cx)
{
	assert(query != NULL && cx != NULL);
	assert(query->priv_state != QUERY_DONE && "resolve polled after completion");
	if (query->priv_state == QUERY_IDLE) {
		int rc = query_start(query);
		if (rc != GALE_PENDING) {
			query->priv_state = QUERY_DONE;
			return rc;
		}
	}
	if (query->priv_state == QUERY_STARTED) {
		query->priv_waker = cx->waker;
		return GALE_PENDING;
	}
	assert(query->priv_state == QUERY_ANSWERED);
	if (gale_sleep_poll(&query->priv_sleep, cx) == GALE_PENDING)
		return GALE_PENDING;
	query->priv_state = QUERY_DONE;
	return query->priv_result;
}

void gale_resolve_query_deinit(struct gale_resolve_query *query)
{
	assert(query != NULL);
	if (query->priv_runtime == NULL)
		return; /* Zeroed, never initialised. */
	if (query->priv_state == QUERY_STARTED) {
		struct gale_resolver *resolver = query->priv_resolver;
		assert(resolver != NULL && resolver->ops != NULL);
		resolver->ops->query_cancel(resolver, query);
		query->priv_state = QUERY_DONE;
	}
	gale_sleep_deinit(&query->priv_sleep);
	query->priv_waker = gale_waker_none();
}
