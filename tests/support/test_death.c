/* SPDX-License-Identifier: MIT */
/*
 * Death tests: run a function in a forked child and check that it aborts (SIGABRT) with a
 * message on stderr. Depends on libc and cmocka only, so a test built against another
 * build of the library (the NDEBUG one of test_io_contract) can link it alone.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

/* The child: stderr into the pipe, SIGABRT at its default (cmocka may catch signals),
 * then fn. Returning from fn is the failure the parent reports. */
static void death_child(int pipe_write, void (*fn)(void *data), void *data)
{
	signal(SIGABRT, SIG_DFL);
	if (dup2(pipe_write, STDERR_FILENO) < 0)
		_exit(3);
	close(pipe_write);
	fn(data);
	_exit(0);
}

/* Reads the child's stderr until it closes (it dies or exits): at most len - 1 bytes. */
static void death_read_all(int fd, char *buf, size_t len)
{
	size_t used = 0;
	for (;;) {
		char chunk[256];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		size_t take = (size_t)n < len - 1 - used ? (size_t)n : len - 1 - used;
		memcpy(buf + used, chunk, take);
		used += take;
	}
	buf[used] = '\0';
}

void gale_test_expect_abort(void (*fn)(void *data), void *data, const char *message_part)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL); /* Nothing buffered is written twice by the child. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		death_child(fds[1], fn, data);
	}
	close(fds[1]);
	char message[4096];
	death_read_all(fds[0], message, sizeof(message));
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("expected an abort with \"%s\"; the child %s %d; its stderr: \"%s\"",
			 message_part, WIFSIGNALED(status) ? "died of signal" : "exited with",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), message);
	if (strstr(message, message_part) == NULL)
		fail_msg("the abort's stderr lacks \"%s\": \"%s\"", message_part, message);
}
