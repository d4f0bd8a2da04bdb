/* SPDX-License-Identifier: MIT */
/* A small strict JSON reader (see cli_json.h): recursive descent, bounded nesting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"

enum { JSON_DEPTH_MAX = 32 };

struct parser {
	const char *text;  /* Input. */
	size_t len;        /* Bytes. */
	size_t at;         /* Next byte. */
	char *error;       /* Message buffer. */
	size_t error_len;  /* Its size. */
	bool failed;       /* A message was written. */
};

static bool fail(struct parser *p, const char *what)
{
	if (!p->failed)
		snprintf(p->error, p->error_len, "%s at byte %zu", what, p->at);
	p->failed = true;
	return false;
}

static void skip_space(struct parser *p)
{
	while (p->at < p->len && strchr(" \t\r\n", p->text[p->at]) != NULL && p->text[p->at])
		p->at++;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->at < n || memcmp(p->text + p->at, word, n) != 0)
		return fail(p, "unexpected character");
	p->at += n;
	return true;
}

/* Appends code point c (from \u escapes) as UTF-8. */
static size_t utf8_put(char *out, unsigned c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (c >> 12));
	out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

static bool hex4(struct parser *p, unsigned *out)
{
	*out = 0;
	for (int k = 0; k < 4; k++, p->at++) {
		char c = p->at < p->len ? p->text[p->at] : '\0';
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return fail(p, "bad \\u escape");
		*out = *out * 16 + d;
	}
	return true;
}

static bool escape(struct parser *p, char *out, size_t *n)
{
	char c = p->at < p->len ? p->text[p->at++] : '\0';
	const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
	const char *hit = c != '\0' ? strchr(from, c) : NULL;
	if (hit != NULL) {
		out[(*n)++] = to[hit - from];
		return true;
	}
	unsigned code = 0;
	if (c != 'u' || !hex4(p, &code))
		return fail(p, "bad escape");
	*n += utf8_put(out + *n, code >= 0xd800 && code < 0xe000 ? 0xfffd : code);
	return true;
}

/* A string at p->at (after its opening quote); *out is malloc'd. */
static bool string(struct parser *p, char **out)
{
	char *buf = malloc(p->len - p->at + 1); /* Unescaping never grows the text. */
	if (buf == NULL)
		return fail(p, "out of memory");
	size_t n = 0;
	for (;;) {
		if (p->at >= p->len) {
			free(buf);
			return fail(p, "unterminated string");
		}
		unsigned char c = (unsigned char)p->text[p->at++];
		if (c == '"')
			break;
		if (c < 0x20 || (c == '\\' && !escape(p, buf, &n))) {
			free(buf);
			return fail(p, c < 0x20 ? "control character in string" : "bad escape");
		}
		if (c != '\\')
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	*out = buf;
	return true;
}

/* Skips the mark at p->at and the digits after it; false when there are none. */
static bool digits(struct parser *p)
{
	size_t start = ++p->at;
	while (p->at < p->len && p->text[p->at] >= '0' && p->text[p->at] <= '9')
		p->at++;
	return p->at > start;
}

static bool number(struct parser *p, struct cli_json *node)
{
	node->kind = CLI_JSON_NUMBER;
	node->negative = p->at < p->len && p->text[p->at] == '-';
	p->at += node->negative;
	size_t start = p->at;
	node->integer = true;
	while (p->at < p->len && p->text[p->at] >= '0' && p->text[p->at] <= '9') {
		uint64_t d = (uint64_t)(p->text[p->at++] - '0');
		if (node->magnitude > (UINT64_MAX - d) / 10)
			node->integer = false;
		node->magnitude = node->magnitude * 10 + d;
	}
	if (p->at == start || (p->text[start] == '0' && p->at - start > 1))
		return fail(p, "bad number");
	/* A fraction or exponent is valid JSON but never a count: kept as "not an integer". */
	if (p->at < p->len && p->text[p->at] == '.') {
		node->integer = false;
		if (!digits(p))
			return fail(p, "bad number");
	}
	if (p->at < p->len && (p->text[p->at] == 'e' || p->text[p->at] == 'E')) {
		node->integer = false;
		if (p->at + 1 < p->len && (p->text[p->at + 1] == '+' || p->text[p->at + 1] == '-'))
			p->at++;
		if (!digits(p))
			return fail(p, "bad number");
	}
	return true;
}

static bool value(struct parser *p, struct cli_json *node, int depth);

/* The elements of an array or members of an object, after the opening bracket. */
static bool members(struct parser *p, struct cli_json *node, int depth, bool object)
{
	char close = object ? '}' : ']';
	skip_space(p);
	if (p->at < p->len && p->text[p->at] == close) {
		p->at++;
		return true;
	}
	struct cli_json **tail = &node->child;
	for (;;) {
		struct cli_json *item = calloc(1, sizeof(*item));
		if (item == NULL)
			return fail(p, "out of memory");
		*tail = item;
		tail = &item->next;
		skip_space(p);
		if (object) {
			if (p->at >= p->len || p->text[p->at] != '"')
				return fail(p, "expected a key");
			p->at++;
			if (!string(p, &item->key))
				return false;
			skip_space(p);
			if (p->at >= p->len || p->text[p->at++] != ':')
				return fail(p, "expected ':'");
		}
		if (!value(p, item, depth + 1))
			return false;
		skip_space(p);
		char c = p->at < p->len ? p->text[p->at++] : '\0';
		if (c == close)
			return true;
		if (c != ',')
			return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool value(struct parser *p, struct cli_json *node, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return fail(p, "nested too deeply");
	skip_space(p);
	char c = p->at < p->len ? p->text[p->at] : '\0';
	switch (c) {
	case '{':
	case '[':
		p->at++;
		node->kind = c == '{' ? CLI_JSON_OBJECT : CLI_JSON_ARRAY;
		return members(p, node, depth, c == '{');
	case '"':
		p->at++;
		node->kind = CLI_JSON_STRING;
		return string(p, &node->string);
	case 't':
	case 'f':
		node->kind = CLI_JSON_BOOL;
		node->boolean = c == 't';
		return literal(p, c == 't' ? "true" : "false");
	case 'n':
		node->kind = CLI_JSON_NULL;
		return literal(p, "null");
	default:
		return number(p, node);
	}
}

void cli_json_free(struct cli_json *root)
{
	while (root != NULL) {
		struct cli_json *next = root->next;
		cli_json_free(root->child);
		free(root->string);
		free(root->key);
		free(root);
		root = next;
	}
}

struct cli_json *cli_json_parse(const char *text, size_t len, char *error, size_t error_len)
{
	struct parser p = {.text = text, .len = len, .error = error, .error_len = error_len};
	struct cli_json *root = calloc(1, sizeof(*root));
	if (root == NULL) {
		snprintf(error, error_len, "out of memory");
		return NULL;
	}
	bool ok = value(&p, root, 0);
	skip_space(&p);
	if (ok && p.at != p.len)
		ok = fail(&p, "text after the value");
	if (!ok) {
		cli_json_free(root);
		return NULL;
	}
	return root;
}

const struct cli_json *cli_json_get(const struct cli_json *object, const char *key)
{
	if (object == NULL || object->kind != CLI_JSON_OBJECT)
		return NULL;
	for (const struct cli_json *m = object->child; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

bool cli_json_u64(const struct cli_json *value, uint64_t *out)
{
	if (value == NULL || value->kind != CLI_JSON_NUMBER || !value->integer ||
	    (value->negative && value->magnitude != 0))
		return false;
	*out = value->magnitude;
	return true;
}

bool cli_json_i64(const struct cli_json *value, int64_t *out)
{
	if (value == NULL || value->kind != CLI_JSON_NUMBER || !value->integer ||
	    value->magnitude > (uint64_t)INT64_MAX)
		return false;
	*out = value->negative ? -(int64_t)value->magnitude : (int64_t)value->magnitude;
	return true;
}

bool cli_json_bool(const struct cli_json *value, bool *out)
{
	if (value == NULL || value->kind != CLI_JSON_BOOL)
		return false;
	*out = value->boolean;
	return true;
}

const char *cli_json_string(const struct cli_json *value)
{
	return value != NULL && value->kind == CLI_JSON_STRING ? value->string : NULL;
}
