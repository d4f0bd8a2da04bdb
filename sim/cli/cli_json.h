/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader for gale's own reports (`merge` reads the shards' JSON back): the
 * whole text parsed into a tree of nodes, looked up by key. Strict (RFC 8259 grammar,
 * nesting bounded), never crashes on bad input: a parse error names its byte offset.
 */
#ifndef GALE_SIM_CLI_CLI_JSON_H
#define GALE_SIM_CLI_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cli_json_kind { CLI_JSON_NULL, CLI_JSON_BOOL, CLI_JSON_NUMBER, CLI_JSON_STRING,
		     CLI_JSON_ARRAY, CLI_JSON_OBJECT };

struct cli_json {
	enum cli_json_kind kind;
	bool boolean;             /* CLI_JSON_BOOL. */
	bool negative;            /* CLI_JSON_NUMBER: a leading '-'. */
	bool integer;             /* CLI_JSON_NUMBER: digits only, and they fit in 64 bits. */
	uint64_t magnitude;       /* CLI_JSON_NUMBER, when integer. */
	char *string;             /* CLI_JSON_STRING: NUL-terminated, unescaped; a key too. */
	char *key;                /* The key, for a member of an object; else NULL. */
	struct cli_json *child;   /* ARRAY / OBJECT: first element or member. */
	struct cli_json *next;    /* Next sibling. */
};

/*
 * Parses text (len bytes). Returns the root (free with cli_json_free) or NULL with a
 * message in error (e.g. "expected ':' at byte 120").
 */
struct cli_json *cli_json_parse(const char *text, size_t len, char *error, size_t error_len);
void cli_json_free(struct cli_json *root);

/* The member of object named key, or NULL (also when object is not an object). */
const struct cli_json *cli_json_get(const struct cli_json *object, const char *key);
/* The value as an unsigned integer; false when it is not a non-negative integer. */
bool cli_json_u64(const struct cli_json *value, uint64_t *out);
/* The value as a signed integer in [INT64_MIN + 1, INT64_MAX]; false otherwise. */
bool cli_json_i64(const struct cli_json *value, int64_t *out);
/* The value as a boolean; false when it is not true or false. */
bool cli_json_bool(const struct cli_json *value, bool *out);
/* The value as a string, or NULL. */
const char *cli_json_string(const struct cli_json *value);

#endif /* GALE_SIM_CLI_CLI_JSON_H */
