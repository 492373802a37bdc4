// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * sdnotify.c - test-only stand-in for systemd's notification socket.
 *
 * usage: sdnotify PATH IFNAME SECONDS
 * Binds an AF_UNIX datagram socket at PATH and prints every datagram received as one line,
 * followed by " [up]" when IFNAME exists and is up at that moment (or " [down]"), so a test
 * can check that READY=1 comes only after the device is configured. Ends after STOPPING=1
 * or after SECONDS.
 */
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *link_state(const char *ifname)
{
	char path[128];
	unsigned flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/flags", ifname);
	f = fopen(path, "r");
	if (!f)
		return "[missing]";
	if (fscanf(f, "%x", &flags) != 1)
		flags = 0;
	fclose(f);
	return (flags & IFF_UP) ? "[up]" : "[down]";
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[512];
	int fd;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: sdnotify PATH IFNAME SECONDS\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("sdnotify: bind");
		return 1;
	}
	time_t end = time(NULL) + atoi(argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (time(NULL) < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			break;
		buf[n] = '\0';
		printf("%s %s\n", buf, link_state(argv[2]));
		if (strcmp(buf, "STOPPING=1") == 0)
			break;
	}
	unlink(argv[1]);
	return 0;
}
