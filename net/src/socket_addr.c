/* SPDX-License-Identifier: MIT */
/* Address text parsing and formatting for net/ (inet_pton/ntop are pure libc, no I/O). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <gale/socket_addr.h>

/* Parses a decimal port with no sign, no spaces, at most 65535. */
static int port_parse(const char *text, uint16_t *port_out)
{
	assert(text != NULL && port_out != NULL);
	size_t len = strlen(text);
	if (len == 0 || len > 5)
		return -EINVAL;
	uint32_t port = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		port = port * 10 + (uint32_t)(text[i] - '0');
	}
	if (port > 65535)
		return -EINVAL;
	*port_out = (uint16_t)port;
	return 0;
}

int gale_socket_addr_from_ip(const char *ip, uint16_t port, struct gale_socket_addr *addr_out)
{
	assert(ip != NULL && addr_out != NULL);
	memset(addr_out, 0, sizeof(*addr_out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&addr_out->storage;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr_out->storage;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		addr_out->len = sizeof(*v4);
		return 0;
	}
	memset(addr_out, 0, sizeof(*addr_out));
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		addr_out->len = sizeof(*v6);
		return 0;
	}
	memset(addr_out, 0, sizeof(*addr_out));
	return -EINVAL;
}

int gale_socket_addr_parse(const char *text, struct gale_socket_addr *addr_out)
{
	assert(text != NULL && addr_out != NULL);
	memset(addr_out, 0, sizeof(*addr_out));
	char ip[INET6_ADDRSTRLEN + 1];
	const char *port_text;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, text + 1, (size_t)(close - text - 1));
		ip[close - text - 1] = '\0';
		if (strchr(ip, ':') == NULL) /* Brackets are for IPv6 only. */
			return -EINVAL;
		port_text = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, text, (size_t)(colon - text));
		ip[colon - text] = '\0';
		if (strchr(ip, ':') != NULL) /* Unbracketed IPv6 is ambiguous. */
			return -EINVAL;
		port_text = colon + 1;
	}
	uint16_t port;
	if (port_parse(port_text, &port) != 0)
		return -EINVAL;
	return gale_socket_addr_from_ip(ip, port, addr_out);
}

int gale_socket_addr_from_sockaddr(const struct sockaddr_storage *storage, socklen_t len,
				   struct gale_socket_addr *addr_out)
{
	assert(storage != NULL && addr_out != NULL);
	memset(addr_out, 0, sizeof(*addr_out));
	socklen_t need;
	if (storage->ss_family == AF_INET)
		need = sizeof(struct sockaddr_in);
	else if (storage->ss_family == AF_INET6)
		need = sizeof(struct sockaddr_in6);
	else
		return -EAFNOSUPPORT;
	if (len < need)
		return -EINVAL;
	memcpy(&addr_out->storage, storage, need);
	addr_out->len = need;
	return 0;
}

int gale_socket_addr_format(const struct gale_socket_addr *addr, char *buf, size_t buf_len)
{
	assert(addr != NULL);
	assert(buf != NULL || buf_len == 0);
	if (buf_len > 0)
		buf[0] = '\0';
	int family = gale_socket_addr_family(addr);
	if (family < 0)
		return family;
	char ip[INET6_ADDRSTRLEN];
	const void *raw = family == AF_INET
				  ? (const void *)&((const struct sockaddr_in *)&addr->storage)->sin_addr
				  : (const void *)&((const struct sockaddr_in6 *)&addr->storage)
					    ->sin6_addr;
	if (inet_ntop(family, raw, ip, sizeof(ip)) == NULL)
		return -EINVAL;
	int len = snprintf(buf, buf_len, family == AF_INET ? "%s:%u" : "[%s]:%u", ip,
			   (unsigned)gale_socket_addr_port(addr));
	if (len < 0 || (size_t)len >= buf_len) {
		if (buf_len > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return len;
}

int gale_socket_addr_family(const struct gale_socket_addr *addr)
{
	assert(addr != NULL);
	/* Any other family (AF_UNSPEC: the zeroed address a failed parse leaves) is none. */
	if (addr->storage.ss_family != AF_INET && addr->storage.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	return addr->storage.ss_family;
}

uint16_t gale_socket_addr_port(const struct gale_socket_addr *addr)
{
	int family = gale_socket_addr_family(addr);
	if (family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&addr->storage)->sin_port);
	if (family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&addr->storage)->sin6_port);
	return 0;
}

int gale_socket_addr_port_set(struct gale_socket_addr *addr, uint16_t port)
{
	int family = gale_socket_addr_family(addr);
	if (family == AF_INET)
		((struct sockaddr_in *)&addr->storage)->sin_port = htons(port);
	else if (family == AF_INET6)
		((struct sockaddr_in6 *)&addr->storage)->sin6_port = htons(port);
	return family < 0 ? family : 0;
}

bool gale_socket_addr_is_equal(const struct gale_socket_addr *a, const struct gale_socket_addr *b)
{
	assert(a != NULL && b != NULL);
	if (a->len != b->len || a->storage.ss_family != b->storage.ss_family)
		return false;
	if (a->storage.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->storage, *y = (const void *)&b->storage;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)&a->storage, *y = (const void *)&b->storage;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}
