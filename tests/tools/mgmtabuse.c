// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * mgmtabuse.c - test-only: hostile clients of a node's management socket. Opens COUNT
 * connections in turn and sends each something bad: garbage, JSON that is not a request,
 * requests with wrong types, lines over 64 KiB, requests cut off in the middle (left open),
 * deep nesting, NUL bytes, invalid UTF-8. One extra client sends many good requests and
 * never reads a reply (it must be cut off without stalling the node). Prints a summary:
 * how many connections got an error line back. Exit 0 when every answered line is an
 * error (nothing was accepted), 1 otherwise.
 *
 * usage: mgmtabuse SOCKET COUNT
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_OPEN 512

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void put(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

/* Reads what arrives within ms; true when a line with "error" came back. */
static bool got_error(int fd, int ms, bool *accepted)
{
	char buf[4096];
	size_t len = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (len < sizeof(buf) - 1 && poll(&p, 1, ms) > 0) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = 0;
	if (strstr(buf, "\"result\""))
		*accepted = true;
	return strstr(buf, "\"error\"") != NULL;
}

int main(int argc, char **argv)
{
	static char big[80 * 1024];
	int open_fds[MAX_OPEN], n_open = 0, errors = 0, sent = 0;
	bool accepted = false;

	if (argc != 3) {
		fprintf(stderr, "usage: mgmtabuse SOCKET COUNT\n");
		return 2;
	}
	int count = atoi(argv[2]);
	memset(big, 'x', sizeof(big));
	big[0] = '"';
	for (int i = 0; i < count; i++) {
		int fd = dial(argv[1]);
		if (fd < 0) {
			perror("connect");
			return 2;
		}
		sent++;
		switch (i % 8) {
		case 0:
			put(fd, "this is not json\n", 17);
			break;
		case 1:
			put(fd, "[1,2,3]\n", 8);
			break;
		case 2:
			put(fd, "{\"id\":1,\"cmd\":42}\n", 18);
			break;
		case 3: /* a line over 64 KiB */
			put(fd, "{\"cmd\":", 7);
			put(fd, big, sizeof(big));
			put(fd, "\n", 1);
			break;
		case 4: { /* nesting far too deep */
			char deep[512];
			size_t k = 0;
			k += (size_t)snprintf(deep, sizeof(deep), "{\"cmd\":\"status\",\"args\":");
			while (k < 400)
				deep[k++] = '[';
			deep[k++] = '\n';
			put(fd, deep, k);
			break;
		}
		case 5:
			put(fd, "{\"cmd\":\"st\0tus\"}\n", 17);
			break;
		case 6:
			put(fd, "{\"cmd\":\"\xff\xfe\"}\n", 14);
			break;
		case 7: /* half a request: stays open, never finished */
			put(fd, "{\"id\":7,\"cmd\":\"sta", 18);
			if (n_open < MAX_OPEN) {
				open_fds[n_open++] = fd;
				continue;
			}
			break;
		}
		if (got_error(fd, 2000, &accepted))
			errors++;
		close(fd);
	}
	/* a client that never reads: requests until the node cuts it off */
	int greedy = dial(argv[1]);
	unsigned requests = 0;
	if (greedy >= 0) {
		static const char req[] = "{\"cmd\":\"peers\"}\n";
		fcntl(greedy, F_SETFL, O_NONBLOCK);
		for (int k = 0; k < 200000; k++) {
			ssize_t w = send(greedy, req, sizeof(req) - 1, MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				struct pollfd p = {.fd = greedy, .events = POLLOUT};
				if (poll(&p, 1, 3000) <= 0)
					break; /* the node stopped reading us, or cut us off */
				continue;
			}
			if (w <= 0)
				break; /* cut off */
			requests++;
		}
		close(greedy);
	}
	for (int i = 0; i < n_open; i++)
		close(open_fds[i]);
	printf("mgmtabuse: %d bad connections, %d answered with an error, %d left half-sent, "
	       "greedy client sent %u requests%s\n",
	       sent, errors, n_open, requests, accepted ? ", SOMETHING WAS ACCEPTED" : "");
	return accepted ? 1 : 0;
}
