/* SPDX-License-Identifier: MIT */
/* Shared macros for every public gale header: export marker and version. */
#ifndef GALE_IO_COMMON_H
#define GALE_IO_COMMON_H

#define GALE_VERSION_MAJOR 0
#define GALE_VERSION_MINOR 1
#define GALE_VERSION_PATCH 0

/* Marks a symbol as part of the public ABI; the library builds with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define GALE_EXTERN __attribute__((visibility("default")))
#else
#define GALE_EXTERN
#endif /* __GNUC__ || __clang__ */

/* printf-style format checking for functions taking (format, ...). */
#if defined(__GNUC__) || defined(__clang__)
#define GALE_PRINTF(format_index, args_index)                                              \
	__attribute__((format(printf, format_index, args_index)))
#else
#define GALE_PRINTF(format_index, args_index)
#endif /* __GNUC__ || __clang__ */

/*
 * For a function that loops byte by byte over payloads (a hash, a pattern, a comparison):
 * no libFuzzer coverage inside it (clang only; nothing elsewhere). Such branches say
 * nothing about the code under test, cost a callback per byte in a fuzz build, and their
 * hit counts only teach libFuzzer to prefer inputs that move more bytes. Sanitizers still
 * check every access. gale's scenario kit and simulator mark theirs; a scenario may too.
 */
#if defined(__clang__)
#define GALE_NO_FUZZ_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define GALE_NO_FUZZ_COVERAGE
#endif /* __clang__ */

#ifdef __cplusplus
#define GALE_BEGIN_DECLS extern "C" {
#define GALE_END_DECLS }
#else
#define GALE_BEGIN_DECLS
#define GALE_END_DECLS
#endif /* __cplusplus */

#endif /* GALE_IO_COMMON_H */
