/* SPDX-License-Identifier: MIT */
/*
 * The kv wire protocol, shared by the server (kv_server.c) and the client (kv_client.c).
 *
 *   request   [op u8][key length u8][value length u16 big-endian][key][value]
 *   response  [status u8][value length u16 big-endian][value]
 *
 * op is KV_OP_PUT (stores value under key), KV_OP_GET (value length 0; the response
 * carries the value) or KV_OP_DEL (value length 0). A key is 1..255 bytes, a value
 * 0..65535. Every request gets exactly one response, in order, on the same connection.
 * A malformed request (unknown op, empty key, a GET or DEL with a value) is still read
 * in full, so the framing holds, and answered KV_STATUS_BAD_REQUEST.
 */
#ifndef KV_PROTOCOL_H
#define KV_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define KV_REQUEST_HEADER_SIZE 4
#define KV_RESPONSE_HEADER_SIZE 3
#define KV_KEY_MAX 255
#define KV_VALUE_MAX 65535
#define KV_REQUEST_MAX (KV_REQUEST_HEADER_SIZE + KV_KEY_MAX + KV_VALUE_MAX)
#define KV_RESPONSE_MAX (KV_RESPONSE_HEADER_SIZE + KV_VALUE_MAX)

enum kv_op {
	KV_OP_PUT = 1,
	KV_OP_GET = 2,
	KV_OP_DEL = 3,
};

enum kv_status {
	KV_STATUS_OK = 0,          /* Done (GET: the value follows). */
	KV_STATUS_NOT_FOUND = 1,   /* GET or DEL of a key that is not stored. */
	KV_STATUS_BAD_REQUEST = 2, /* Malformed request (see above). */
	KV_STATUS_NO_MEMORY = 3,   /* PUT could not allocate; nothing changed. Retry later. */
};

static inline void kv_u16_put(uint8_t *buf, uint16_t value)
{
	buf[0] = (uint8_t)(value >> 8);
	buf[1] = (uint8_t)value;
}

static inline uint16_t kv_u16_get(const uint8_t *buf)
{
	return (uint16_t)(buf[0] << 8 | buf[1]);
}

static inline const char *kv_status_name(int status)
{
	switch (status) {
	case KV_STATUS_OK:
		return "OK";
	case KV_STATUS_NOT_FOUND:
		return "NOT_FOUND";
	case KV_STATUS_BAD_REQUEST:
		return "BAD_REQUEST";
	case KV_STATUS_NO_MEMORY:
		return "NO_MEMORY";
	default:
		return "?";
	}
}

#endif /* KV_PROTOCOL_H */
