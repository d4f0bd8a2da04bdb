/* SPDX-License-Identifier: MIT */
/* The kv client futures (kv_client.h): connect, then put / get / del one at a time. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <gale/error.h>

#include "kv_client.h"

enum kv_request_phase {
	KV_REQUEST_SEND = 0, /* write_all of header, key, value. */
	KV_REQUEST_HEADER,   /* read_exact of the response's header. */
	KV_REQUEST_VALUE,    /* read_exact of its value. */
	KV_REQUEST_DONE,     /* Completed: polling again asserts. */
};

bool kv_client_is_connected(const struct kv_client *client)
{
	return gale_tcp_stream_is_open(&client->stream);
}

int kv_client_close(struct kv_client *client)
{
	if (!gale_tcp_stream_is_open(&client->stream))
		return 0;
	return gale_tcp_stream_close(&client->stream);
}

void kv_connect_init(struct kv_connect *future, struct kv_client *client,
		     struct gale_runtime *runtime, const struct gale_socket_addr *addr)
{
	assert(!kv_client_is_connected(client));
	future->client = client;
	gale_tcp_connect_init(&future->connect, runtime, addr, 1);
}

int kv_connect_poll(struct kv_connect *future, struct gale_cx *cx)
{
	return gale_tcp_connect_poll(&future->connect, cx, &future->client->stream);
}

void kv_connect_deinit(struct kv_connect *future)
{
	gale_tcp_connect_deinit(&future->connect);
}

static void request_init(struct kv_request *request, struct kv_client *client, enum kv_op op,
			 const void *key, size_t key_len, const void *value, size_t value_len)
{
	memset(request, 0, sizeof(*request));
	request->client = client;
	if (key_len == 0 || key_len > KV_KEY_MAX || value_len > KV_VALUE_MAX) {
		request->error = -EINVAL;
		return;
	}
	request->header[0] = (uint8_t)op;
	request->header[1] = (uint8_t)key_len;
	kv_u16_put(request->header + 2, (uint16_t)value_len);
	request->iov[0] = (struct iovec){request->header, sizeof(request->header)};
	request->iov[1] = (struct iovec){(void *)key, key_len};
	request->iov[2] = (struct iovec){(void *)value, value_len};
	gale_write_all_vectored_init(&request->write, gale_tcp_stream_writer(&client->stream),
				     request->iov, 3);
}

void kv_put_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len, const void *value, size_t value_len)
{
	request_init(request, client, KV_OP_PUT, key, key_len, value, value_len);
}

void kv_get_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len, void *value_buf, size_t value_cap)
{
	request_init(request, client, KV_OP_GET, key, key_len, NULL, 0);
	request->value_buf = value_buf;
	request->value_cap = value_cap;
}

void kv_del_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len)
{
	request_init(request, client, KV_OP_DEL, key, key_len, NULL, 0);
}

/* The response header just read: checks it and prepares the value's read (if any). */
static int request_header_check(struct kv_request *request)
{
	int status = request->response[0];
	size_t value_len = kv_u16_get(request->response + 1);
	bool is_get_ok = request->header[0] == KV_OP_GET && status == KV_STATUS_OK;
	if (status > KV_STATUS_NO_MEMORY || (value_len > 0 && !is_get_ok))
		return -EPROTO;
	if (value_len > request->value_cap)
		return -EMSGSIZE;
	request->status = status;
	request->value_len = value_len;
	gale_read_exact_init(&request->read, gale_tcp_stream_reader(&request->client->stream),
			     request->value_buf, value_len);
	return 0;
}

int kv_request_poll(struct kv_request *request, struct gale_cx *cx)
{
	assert(request->phase != KV_REQUEST_DONE);
	int rc = request->error;
	while (rc == 0 && request->phase != KV_REQUEST_DONE) {
		if (request->phase == KV_REQUEST_SEND)
			rc = gale_write_all_vectored_poll(&request->write, cx);
		else
			rc = gale_read_exact_poll(&request->read, cx);
		if (rc != 0)
			break;
		if (request->phase == KV_REQUEST_SEND)
			gale_read_exact_init(&request->read,
					     gale_tcp_stream_reader(&request->client->stream),
					     request->response, sizeof(request->response));
		else if (request->phase == KV_REQUEST_HEADER)
			rc = request_header_check(request);
		request->phase++;
	}
	if (rc != GALE_PENDING)
		request->phase = KV_REQUEST_DONE;
	return rc;
}
