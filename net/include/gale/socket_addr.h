/* SPDX-License-Identifier: MIT */
/*
 * Socket addresses: parse and format IPv4/IPv6 "ip:port" text. Pure functions, no I/O.
 * Accepted text: "127.0.0.1:8080", "[::1]:8080", "[fe80::1%2]:80" is NOT accepted (no
 * scope ids), and bare "ip" with a separate port through gale_socket_addr_from_ip().
 */
#ifndef GALE_NET_SOCKET_ADDR_H
#define GALE_NET_SOCKET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

/* Longest text gale_socket_addr_format() writes, NUL included ("[v6]:65535"). */
#define GALE_SOCKET_ADDR_TEXT_MAX 56

struct gale_socket_addr {
	struct sockaddr_storage storage; /* sockaddr_in or sockaddr_in6. */
	socklen_t len;                   /* sizeof the one in use. */
};

/**
 * Parses "a.b.c.d:port" or "[v6]:port" (port 0..65535).
 * @param text  borrowed for the call; NUL-terminated.
 * @return 0, or -EINVAL for anything else (addr_out is then zeroed).
 */
GALE_EXTERN int gale_socket_addr_parse(const char *text, struct gale_socket_addr *addr_out);

/** Builds an address from a bare IPv4 or IPv6 literal and a port. 0 or -EINVAL. */
GALE_EXTERN int gale_socket_addr_from_ip(const char *ip, uint16_t port,
					 struct gale_socket_addr *addr_out);

/**
 * Copies a kernel/driver address (AF_INET or AF_INET6 only).
 * @return 0 or -EAFNOSUPPORT (other families), -EINVAL (len too short).
 */
GALE_EXTERN int gale_socket_addr_from_sockaddr(const struct sockaddr_storage *storage,
					       socklen_t len, struct gale_socket_addr *addr_out);

/**
 * Formats as "a.b.c.d:port" or "[v6]:port".
 * @param buf  NULL only when buf_len is 0 (asserted); holds "" on every error.
 * @return the text length; -ENOSPC when buf_len is too small (0 included); -EAFNOSUPPORT
 *         when addr is neither IPv4 nor IPv6 (the zeroed address a failed parse leaves).
 */
GALE_EXTERN int gale_socket_addr_format(const struct gale_socket_addr *addr, char *buf,
					size_t buf_len);

/** AF_INET or AF_INET6; -EAFNOSUPPORT for any other family (a zeroed address). */
GALE_EXTERN int gale_socket_addr_family(const struct gale_socket_addr *addr);

/** Port in host byte order; 0 for an address that is neither IPv4 nor IPv6. */
GALE_EXTERN uint16_t gale_socket_addr_port(const struct gale_socket_addr *addr);

/** Sets the port (host byte order). @return 0, or -EAFNOSUPPORT (addr is neither IPv4
 * nor IPv6: nothing changed). */
GALE_EXTERN int gale_socket_addr_port_set(struct gale_socket_addr *addr, uint16_t port);

/** True when family, address and port are equal. */
GALE_EXTERN bool gale_socket_addr_is_equal(const struct gale_socket_addr *a,
					   const struct gale_socket_addr *b);

GALE_END_DECLS

#endif /* GALE_NET_SOCKET_ADDR_H */
