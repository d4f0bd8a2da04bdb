/* SPDX-License-Identifier: MIT */
/*
 * Standalone replay main for builds without libFuzzer (gcc, or clang without
 * GALE_BUILD_FUZZERS), after c-ares' ares-fuzz.c: runs LLVMFuzzerTestOneInput once per
 * input file, so every corpus and regression file is an ordinary test in every build.
 *
 * Usage: fuzz_<target> FILE|DIR... ("-" reads standard input). Directories are replayed
 * file by file in name order (deterministic). A broken invariant aborts, exactly as under
 * libFuzzer; GALE_FUZZ_TRACE=1 makes the targets print their traces.
 */
#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_harness.h"

/* Largest input replayed: far above every target's -max_len. */
#define FUZZ_MAIN_INPUT_MAX (1u << 24)

/* Reads all of stream into a malloc'd buffer of exactly its length (at least 1 byte), so
 * ASan catches a harness that reads past the end of its input. @return 0, or -1. */
static int input_read(FILE *stream, const char *name, uint8_t **bytes_out, size_t *len_out)
{
	assert(stream != NULL && bytes_out != NULL && len_out != NULL);
	size_t cap = 4096;
	size_t len = 0;
	uint8_t *bytes = malloc(cap);
	while (bytes != NULL) {
		len += fread(bytes + len, 1, cap - len, stream);
		if (len < cap || ferror(stream) || cap >= FUZZ_MAIN_INPUT_MAX)
			break;
		uint8_t *grown = realloc(bytes, 2 * cap);
		if (grown == NULL) {
			free(bytes);
			bytes = NULL;
			break;
		}
		bytes = grown;
		cap *= 2;
	}
	if (bytes == NULL || ferror(stream) || len == cap) {
		fprintf(stderr, "fuzz_main: %s: read error, out of memory or over %u bytes\n", name,
			FUZZ_MAIN_INPUT_MAX);
		free(bytes);
		return -1;
	}
	/* Shrinks to the exact length (realloc to a smaller size keeps the bytes). */
	uint8_t *exact = realloc(bytes, len > 0 ? len : 1);
	*bytes_out = exact != NULL ? exact : bytes;
	*len_out = len;
	return 0;
}

/* Replays one file ("-": stdin). @return 0 or -1. */
static int replay_file(const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *stream = is_stdin ? stdin : fopen(path, "rb");
	if (stream == NULL) {
		fprintf(stderr, "fuzz_main: cannot open %s\n", path);
		return -1;
	}
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc = input_read(stream, path, &bytes, &len);
	if (!is_stdin)
		fclose(stream);
	if (rc != 0)
		return rc;
	fprintf(stderr, "fuzz_main: replaying %s (%zu bytes)\n", path, len);
	(void)LLVMFuzzerTestOneInput(bytes, len);
	free(bytes);
	return 0;
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of dir in name order. @return files replayed, or -1. */
static int replay_dir(const char *dir_path)
{
	DIR *dir = opendir(dir_path);
	if (dir == NULL) {
		fprintf(stderr, "fuzz_main: cannot open directory %s\n", dir_path);
		return -1;
	}
	char **names = NULL;
	size_t names_len = 0;
	for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
		if (entry->d_name[0] == '.')
			continue;
		char **grown = realloc(names, (names_len + 1) * sizeof(*names));
		char *path = malloc(strlen(dir_path) + strlen(entry->d_name) + 2);
		if (grown == NULL || path == NULL) {
			free(path);
			names = grown != NULL ? grown : names;
			break;
		}
		names = grown;
		sprintf(path, "%s/%s", dir_path, entry->d_name);
		names[names_len++] = path;
	}
	closedir(dir);
	qsort(names, names_len, sizeof(*names), name_compare);
	int replayed = 0;
	for (size_t i = 0; i < names_len; i++) {
		struct stat info;
		bool is_file = stat(names[i], &info) == 0 && S_ISREG(info.st_mode);
		if (is_file && replay_file(names[i]) == 0)
			replayed++;
		free(names[i]);
	}
	free(names);
	return replayed;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR... (\"-\" reads stdin)\n", argv[0]);
		return 2;
	}
	int replayed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat info;
		bool is_dir = strcmp(argv[i], "-") != 0 && stat(argv[i], &info) == 0 &&
			      S_ISDIR(info.st_mode);
		int rc = is_dir ? replay_dir(argv[i]) : replay_file(argv[i]);
		if (rc < 0)
			return 1;
		replayed += is_dir ? rc : 1;
	}
	fprintf(stderr, "fuzz_main: %d inputs replayed, no invariant broken\n", replayed);
	return 0;
}
