/* SPDX-License-Identifier: MIT */
/* Placeholder being written. */
typedef int gale__placeholder_t;
