/* SPDX-License-Identifier: MIT */
/*
 * The one main() of every cmocka test executable (libssh torture.c pattern).
 *
 * Each test file defines gale_test_group(), which runs its cmocka table. This main parses
 *   -t PATTERN       run only tests whose name matches PATTERN (cmocka's glob filter);
 * and the environment:
 *   GALE_TEST_SEED=0x...   replay one seed exactly (sim tests);
 *   GALE_TEST_SEEDS=N      number of seeds a sweep runs (default 64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			cmocka_set_test_filter(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [-t PATTERN]\n", argv[0]);
			return 2;
		}
	}
	return gale_test_group();
}
