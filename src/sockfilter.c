// SPDX-License-Identifier: GPL-3.0-or-later
/* sockfilter.c - classic BPF program dropping listed sources' and salts' handshake messages. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "meshvpn/frame.h"
#include "meshvpn/sockfilter.h"

/*
 * A UDP socket's filter sees the datagram from its UDP header (8 bytes) on; the IP header
 * is reached through SKF_NET_OFF, whatever the socket's family: a dual-stack socket gets
 * IPv4 datagrams with their IPv4 header.
 */
#define UDP_HDR	  8
#define ACCEPT	  0xffffffffu /* keep the whole datagram */
#define DROP	  0u
#define NET(off)  ((uint32_t)(SKF_NET_OFF + (off)))
#define V4_SRC	  12 /* offset of the source address in an IPv4 header */
#define V6_SRC	  8  /* ... in an IPv6 header */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t sockfilter_build(const struct sockfilter_list *l, struct sock_filter *prog)
{
	const struct addr *a = l->ips;
	size_t k = 0, n4 = 0, n = l->n_ips;

	if (n > SOCKFILTER_MAX || l->n_salts > SOCKFILTER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		n4 += addr_is_v4(&a[i]);
	/* not a handshake message (too short for a first byte, or another first byte): keep */
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
	prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, UDP_HDR, 1, 0);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ACCEPT);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, UDP_HDR);
	prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FRAME_INIT_MESSAGE, 1,
						 0);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ACCEPT);
	/*
	 * A listed salt and key hash, from anywhere: two words; a mismatch skips to the next.
	 * Only in messages long enough to hold them (a load past the end would drop).
	 */
	if (l->n_salts) {
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
							 UDP_HDR + 1 + SOCKFILTER_SALT_LEN, 0,
							 (uint8_t)(5 * l->n_salts));
	}
	for (size_t i = 0; i < l->n_salts; i++) {
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HDR + 1);
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 be32(l->salts[i]), 0, 3);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HDR + 5);
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 be32(l->salts[i] + 4), 0, 1);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, DROP);
	}
	/* IP version: the IPv4 part is 2 + 2 * n4 instructions long, the IPv6 part follows */
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NET(0));
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4);
	prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0,
						 (uint8_t)(2 + 2 * n4));
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(V4_SRC));
	for (size_t i = 0; i < n; i++) {
		if (!addr_is_v4(&a[i]))
			continue;
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 be32(a[i].ip + 12), 0, 1);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, DROP);
	}
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ACCEPT);
	/* IPv6: four words per address; a mismatch skips to the next address */
	for (size_t i = 0; i < n; i++) {
		if (addr_is_v4(&a[i]))
			continue;
		for (unsigned w = 0; w < 4; w++) {
			prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
								 NET(V6_SRC + 4 * w));
			prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
								 be32(a[i].ip + 4 * w), 0,
								 (uint8_t)(7 - 2 * w));
		}
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, DROP);
	}
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ACCEPT);
	return k;
}

int sockfilter_apply(int fd, const struct sockfilter_list *l)
{
	struct sock_filter prog[SOCKFILTER_INSNS];
	struct sock_fprog fp = {.filter = prog};

	if (l->n_ips == 0 && l->n_salts == 0) {
		int unused = 0; /* setsockopt wants an int-sized value even here */

		/* ENOENT: nothing attached, which is what was asked for */
		if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 &&
		    errno != ENOENT)
			return -errno;
		return 0;
	}
	fp.len = (unsigned short)sockfilter_build(l, prog);
	if (fp.len == 0)
		return -EINVAL;
	/* replaces the previous program atomically: no datagram sees none */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		return -errno;
	return 0;
}
