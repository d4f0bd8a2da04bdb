/* SPDX-License-Identifier: MIT */
/*
 * "host:port" text and the resolve future (resolve.h): splits the text, asks the
 * runtime's resolver through the resolve query (io/'s resolver.h), and gives every
 * address the port. Also the bind-by-name future, which needs nothing of the listener's
 * internals: it calls gale_tcp_listener_bind() per address.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdio.h>
#include <string.h>

#include <gale/error.h>
#include <gale/resolve.h>

/* Splits "host:port" / "[v6]:port" into host_out (NUL-terminated) and the port.
 * 0 or -EINVAL. */
static int host_port_split(const char *text, char *host_out, size_t host_cap,
			   uint16_t *port_out)
{
	const char *colon = strrchr(text, ':');
	if (colon == NULL || colon[1] == '\0')
		return -EINVAL;
	const char *host = text;
	size_t host_len = (size_t)(colon - text);
	if (host_len >= 2 && text[0] == '[' && text[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	} else if (memchr(text, ':', host_len) != NULL || memchr(text, '[', host_len) != NULL) {
		return -EINVAL; /* An IPv6 literal needs its brackets. */
	}
	if (host_len == 0 || host_len >= host_cap)
		return -EINVAL;
	unsigned long port = 0;
	for (const char *c = colon + 1; *c != '\0'; c++) {
		if (*c < '0' || *c > '9' || c - colon > 5)
			return -EINVAL;
		port = port * 10 + (unsigned long)(*c - '0');
	}
	if (port > 65535)
		return -EINVAL;
	memcpy(host_out, host, host_len);
	host_out[host_len] = '\0';
	*port_out = (uint16_t)port;
	return 0;
}

void gale_resolve_init_host(struct gale_resolve *future, struct gale_runtime *runtime,
			    const char *host, uint16_t port, int family)
{
	assert(future != NULL && runtime != NULL && host != NULL);
	memset(future, 0, sizeof(*future));
	gale_resolve_query_init(&future->priv_query, runtime, host, family);
	future->priv_port = port;
}

void gale_resolve_init(struct gale_resolve *future, struct gale_runtime *runtime,
		       const char *text)
{
	assert(future != NULL && runtime != NULL && text != NULL);
	char host[GALE_RESOLVE_NAME_MAX + 1];
	uint16_t port = 0;
	int rc = host_port_split(text, host, sizeof(host), &port);
	gale_resolve_init_host(future, runtime, rc == 0 ? host : "", port, AF_UNSPEC);
	future->priv_error = rc;
}

int gale_resolve_poll(struct gale_resolve *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_is_done && "resolve polled after completion");
	int rc = future->priv_error;
	if (rc == 0)
		rc = gale_resolve_query_poll(&future->priv_query, cx);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	future->priv_is_done = true;
	if (rc < 0)
		return rc;
	const struct gale_resolve_query *query = &future->priv_query;
	future->addr_count = 0;
	for (size_t i = 0; i < query->addr_count; i++) {
		struct gale_socket_addr *addr = &future->addrs[future->addr_count];
		if (gale_socket_addr_from_sockaddr(&query->addrs[i], query->addr_lens[i], addr) <
		    0)
			continue;
		(void)gale_socket_addr_port_set(addr, future->priv_port);
		future->addr_count++;
	}
	return future->addr_count > 0 ? 0 : GALE_E_RESOLVE_NO_ADDRESS;
}

void gale_resolve_deinit(struct gale_resolve *future)
{
	assert(future != NULL);
	gale_resolve_query_deinit(&future->priv_query);
}

const char *gale_resolve_host(const struct gale_resolve *future)
{
	assert(future != NULL);
	return gale_resolve_query_name(&future->priv_query);
}

int gale_resolve_describe(const struct gale_resolve *future, int rc, char *buf, size_t buf_len)
{
	assert(future != NULL);
	assert(buf != NULL || buf_len == 0);
	if (rc == -EINVAL && future->priv_error != 0)
		return snprintf(buf, buf_len, "resolving: not \"host:port\" text");
	return snprintf(buf, buf_len, "resolving \"%s\": %s", gale_resolve_host(future),
			gale_strerror(rc));
}

/* ==== Bind by name ======================================================================= */

void gale_tcp_bind_host_init(struct gale_tcp_bind_host *future,
			     struct gale_tcp_listener *listener, struct gale_runtime *runtime,
			     const char *text, int backlog)
{
	assert(future != NULL && listener != NULL && runtime != NULL && text != NULL);
	memset(future, 0, sizeof(*future));
	memset(listener, 0, sizeof(*listener)); /* Reads as closed until a bind succeeds. */
	gale_resolve_init(&future->priv_resolve, runtime, text);
	future->priv_listener = listener;
	future->priv_backlog = backlog;
}

int gale_tcp_bind_host_poll(struct gale_tcp_bind_host *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_is_done && "bind polled after completion");
	struct gale_resolve *resolve = &future->priv_resolve;
	int rc = gale_resolve_poll(resolve, cx);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	future->priv_is_done = true;
	if (rc < 0)
		return rc;
	struct gale_runtime *runtime = gale_resolve_query_runtime(&resolve->priv_query);
	for (size_t i = 0; i < resolve->addr_count; i++) {
		rc = gale_tcp_listener_bind(future->priv_listener, runtime, &resolve->addrs[i],
					    future->priv_backlog);
		if (rc == 0)
			return 0;
	}
	return rc;
}

void gale_tcp_bind_host_deinit(struct gale_tcp_bind_host *future)
{
	assert(future != NULL);
	gale_resolve_deinit(&future->priv_resolve);
}
