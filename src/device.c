// SPDX-License-Identifier: GPL-3.0-or-later
/* device.c - TUN/TAP device: open, packet I/O, MTU, IPv4 via rtnetlink, rp_filter, commands. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meshvpn/device.h"
#include "meshvpn/hooks.h"
#include "meshvpn/log.h"

/* Debian 12's kernel headers predate USO (Linux 6.2); the values are ABI. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

int device_open(struct device *dev, enum device_type type, const char *name, const char *path)
{
	return device_open_ex(dev, type, name, path, false);
}

/*
 * TUN offloads: with IFF_VNET_HDR every packet comes with a virtio_net_hdr; TUNSETOFFLOAD
 * lets the kernel hand over TCP (and UDP, USO) super-packets of up to 64 KiB with partial
 * checksums instead of MTU-sized ones, so one read replaces dozens.
 */
static void enable_offloads(struct device *dev)
{
	static const unsigned sets[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, /* kernels before 6.2 */
		TUN_F_CSUM,
	};
	int hdrsz = DEVICE_VNET_HDR_LEN;

	if (ioctl(dev->src.fd, TUNSETVNETHDRSZ, &hdrsz) < 0)
		log_debug("device: TUNSETVNETHDRSZ: %s", strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		if (ioctl(dev->src.fd, TUNSETOFFLOAD, (unsigned long)sets[i]) == 0) {
			dev->offloads = sets[i];
			return;
		}
	}
	log_debug("device: no TUN offloads: %s", strerror(errno));
}

int device_open_ex(struct device *dev, enum device_type type, const char *name, const char *path,
		   bool offload)
{
	struct ifreq ifr = {0};
	int err = 0;

	dev->src.fd = -1;
	dev->vnet = false;
	dev->offloads = 0;
	dev->type = type;
	dev->ifindex = 0;
	dev->ifname[0] = '\0';
	if (!path)
		path = DEVICE_PATH_DEFAULT;
	if (!name || !*name)
		name = type == DEVICE_TAP ? "tap%d" : "tun%d";
	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;

	dev->src.fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev->src.fd < 0)
		return -errno;
	/* offloads only on TUN: the packet surgery (offload.c) starts at an IP header */
	offload = offload && type == DEVICE_TUN;
	ifr.ifr_flags = (type == DEVICE_TAP ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	if (offload)
		ifr.ifr_flags |= IFF_VNET_HDR;
	strcpy(ifr.ifr_name, name);
	if (ioctl(dev->src.fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	if (offload) {
		dev->vnet = true;
		enable_offloads(dev);
	}
	memcpy(dev->ifname, ifr.ifr_name, IFNAMSIZ);
	dev->ifname[IFNAMSIZ - 1] = '\0';
	dev->ifindex = if_nametoindex(dev->ifname);
	if (!dev->ifindex)
		err = -errno;
out:
	if (err)
		device_close(dev);
	return err;
}

void device_close(struct device *dev)
{
	if (dev->src.fd >= 0)
		close(dev->src.fd);
	dev->src.fd = -1;
}

int device_read(struct device *dev, struct buf *b)
{
	ssize_t r;

	do {
		r = read(dev->src.fd, buf_data(b), b->size - b->off);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	b->len = (uint32_t)r;
	return 0;
}

int device_read_batch(struct device *dev, struct buf *const *bufs, unsigned n)
{
	unsigned i;

	/* One read per packet: TUN/TAP has no multi-packet read (IFF_VNET_HDR + GSO could). */
	for (i = 0; i < n; i++) {
		int err = device_read(dev, bufs[i]);
		if (err)
			return i ? (int)i : err;
	}
	return (int)i;
}

int device_writev(struct device *dev, const struct iovec *iov, int iovcnt)
{
	ssize_t r;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	do {
		r = writev(dev->src.fd, iov, iovcnt);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

int device_write(struct device *dev, const uint8_t *data, size_t len)
{
	ssize_t r;

	do {
		r = write(dev->src.fd, data, len);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO; /* TUN/TAP writes are all or nothing */
}

/* --- default route and MTU --------------------------------------------------------------- */

struct route_scan {
	char gw_ifname[IFNAMSIZ]; /* last interface with a gateway route */
	bool have_gw;
};

static bool is_hex8(const char *s, size_t len)
{
	if (len != 8)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * One /proc/net/route line: "Iface Destination Gateway Flags ..." (tab separated, hex in
 * kernel byte order). Returns true and sets ifname for a default route.
 */
static bool route_line(struct route_scan *rs, const char *line, size_t len, char ifname[IFNAMSIZ])
{
	const char *tok[3];
	size_t tlen[3], ntok = 0, i = 0;

	while (ntok < 3 && i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		tok[ntok] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		tlen[ntok] = (size_t)(line + i - tok[ntok]);
		ntok++;
	}
	/* The header ("Iface Destination Gateway ...") fails the hex check. */
	if (ntok < 3 || tlen[0] >= IFNAMSIZ || !is_hex8(tok[1], tlen[1]) ||
	    !is_hex8(tok[2], tlen[2]))
		return false;
	if (memcmp(tok[1], "00000000", 8) == 0) {
		memcpy(ifname, tok[0], tlen[0]);
		ifname[tlen[0]] = '\0';
		return true;
	}
	if (memcmp(tok[2], "00000000", 8) != 0) {
		memcpy(rs->gw_ifname, tok[0], tlen[0]);
		rs->gw_ifname[tlen[0]] = '\0';
		rs->have_gw = true;
	}
	return false;
}

static int route_done(const struct route_scan *rs, char ifname[IFNAMSIZ])
{
	if (!rs->have_gw)
		return -ENOENT;
	memcpy(ifname, rs->gw_ifname, IFNAMSIZ);
	return 0;
}

int device_route_parse(const char *text, char ifname[IFNAMSIZ])
{
	struct route_scan rs = {0};

	while (*text) {
		const char *end = strchrnul(text, '\n');
		if (route_line(&rs, text, (size_t)(end - text), ifname))
			return 0;
		text = *end ? end + 1 : end;
	}
	return route_done(&rs, ifname);
}

/* Streams the file line by line: a full routing table can be large. */
static int default_route_ifname(char ifname[IFNAMSIZ])
{
	struct route_scan rs = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = -ENOENT;
	FILE *f = fopen(DEVICE_ROUTE_PATH, "re");

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (route_line(&rs, line, (size_t)len - (len && line[len - 1] == '\n'), ifname)) {
			err = 0;
			goto out;
		}
	}
	err = route_done(&rs, ifname);
out:
	free(line);
	fclose(f);
	return err;
}

/* An AF_INET datagram socket for the SIOC[GS]IF* ioctls. */
static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	strncpy(ifr->ifr_name, ifname, IFNAMSIZ - 1);
	ifr->ifr_name[IFNAMSIZ - 1] = '\0';
	if (ioctl(fd, req, ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int ifname_mtu(const char *ifname)
{
	struct ifreq ifr = {0};
	int err = ifreq_ioctl(ifname, SIOCGIFMTU, &ifr);

	return err ? err : ifr.ifr_mtu;
}

int device_default_mtu(int overhead, int *mtu, char ifname[IFNAMSIZ])
{
	char name[IFNAMSIZ];
	int err = default_route_ifname(name);

	*mtu = DEVICE_FALLBACK_LINK_MTU - overhead;
	if (err)
		return err;
	int link = ifname_mtu(name);
	if (link < 0)
		return link;
	if (link <= overhead)
		return -ERANGE;
	*mtu = link - overhead;
	memcpy(ifname, name, IFNAMSIZ);
	return 0;
}

int device_get_mtu(const struct device *dev)
{
	return ifname_mtu(dev->ifname);
}

int device_set_mtu(struct device *dev, int mtu)
{
	struct ifreq ifr = {.ifr_mtu = mtu};

	return ifreq_ioctl(dev->ifname, SIOCSIFMTU, &ifr);
}

/* --- IPv4 address through rtnetlink ----------------------------------------------------- */

#define NL_BUF_SIZE 16384
#define NL_MAX_DEL  32 /* stale addresses removed per dump round */

struct nl {
	int fd;
	uint32_t seq;
	uint8_t *buf; /* receive buffer, NL_BUF_SIZE */
};

/* A request: header, family message, a few attributes. */
struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
	};
	uint8_t attrs[64];
};

struct v4addr {
	uint8_t local[4];
	uint8_t address[4];
	uint8_t prefix;
};

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
	free(nl->buf);
	nl->buf = NULL;
}

static int nl_open(struct nl *nl)
{
	/* The kernel always answers; the timeout only guards start-up against a wedged kernel. */
	const struct timeval tmo = {.tv_sec = 5};
	int err = 0;

	nl->seq = 0;
	nl->buf = malloc(NL_BUF_SIZE);
	if (!nl->buf)
		return -ENOMEM;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0 || setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0)
		err = -errno;
	if (err)
		nl_close(nl);
	return err;
}

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)(void *)((uint8_t *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	if (NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len) > sizeof(*r))
		bug("netlink request overflow");
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + (uint32_t)RTA_SPACE(len);
}

static int nl_send(struct nl *nl, struct nl_req *r)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	r->h.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/*
 * Reads replies to the last request until its ACK/error (or NLMSG_DONE for a dump); each
 * RTM_NEWADDR of a dump goes to cb. Returns the kernel's verdict (0 or -errno).
 */
static int nl_recv(struct nl *nl, void (*cb)(const struct nlmsghdr *, void *), void *arg)
{
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(nl->fd, nl->buf, NL_BUF_SIZE, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (from.nl_pid != 0) /* only the kernel speaks here */
			continue;
		size_t left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)nl->buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed half-way says so in DONE's payload. */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					return MIN(*(const int *)NLMSG_DATA(h), 0);
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error;
			}
			if (cb)
				cb(h, arg);
		}
	}
}

struct addr_dump {
	unsigned ifindex;
	struct v4addr want;
	struct v4addr del[NL_MAX_DEL];
	unsigned ndel;
	bool more; /* del[] overflowed: dump again after deleting */
};

/* Collects the IPv4 addresses of one interface that differ from the one we want. */
static void addr_dump_cb(const struct nlmsghdr *h, void *arg)
{
	struct addr_dump *d = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct v4addr a = {0};
	bool have_local = false, have_addr = false;

	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    ifa->ifa_family != AF_INET || ifa->ifa_index != d->ifindex)
		return;
	a.prefix = ifa->ifa_prefixlen;
	int alen = (int)IFA_PAYLOAD(h);
	for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, alen);
	     rta = RTA_NEXT(rta, alen)) {
		if (RTA_PAYLOAD(rta) != 4)
			continue;
		if (rta->rta_type == IFA_LOCAL) {
			memcpy(a.local, RTA_DATA(rta), 4);
			have_local = true;
		} else if (rta->rta_type == IFA_ADDRESS) {
			memcpy(a.address, RTA_DATA(rta), 4);
			have_addr = true;
		}
	}
	if (!have_addr)
		return;
	if (!have_local)
		memcpy(a.local, a.address, 4);
	if (memcmp(a.local, d->want.local, 4) == 0 && memcmp(a.address, d->want.address, 4) == 0 &&
	    a.prefix == d->want.prefix)
		return; /* already there: NLM_F_REPLACE keeps it without a flap */
	if (d->ndel < NL_MAX_DEL)
		d->del[d->ndel++] = a;
	else
		d->more = true;
}

static void addr_req(struct nl_req *r, uint16_t type, uint16_t flags, unsigned ifindex,
		     const struct v4addr *a)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(r->ifa));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | flags;
	r->ifa.ifa_family = AF_INET;
	r->ifa.ifa_index = ifindex;
	if (!a)
		return;
	r->ifa.ifa_prefixlen = a->prefix;
	nl_attr(r, IFA_LOCAL, a->local, 4);
	nl_attr(r, IFA_ADDRESS, a->address, 4);
}

/* Removes every IPv4 address of the interface except want (SIOCSIFADDR semantics). */
static int flush_other_v4(struct nl *nl, unsigned ifindex, const struct v4addr *want)
{
	struct addr_dump d = {.ifindex = ifindex, .want = *want};
	struct nl_req r;
	int err;

	do {
		d.ndel = 0;
		d.more = false;
		addr_req(&r, RTM_GETADDR, NLM_F_DUMP, ifindex, NULL);
		err = nl_send(nl, &r);
		if (!err)
			err = nl_recv(nl, addr_dump_cb, &d);
		for (unsigned i = 0; !err && i < d.ndel; i++) {
			addr_req(&r, RTM_DELADDR, NLM_F_ACK, ifindex, &d.del[i]);
			err = nl_send(nl, &r);
			if (!err)
				err = nl_recv(nl, NULL, NULL);
			/* Deleting a primary may already have taken its secondaries along. */
			if (err == -EADDRNOTAVAIL)
				err = 0;
		}
	} while (!err && d.more);
	return err;
}

int device_set_ipv4(struct device *dev, const uint8_t ip4[4], unsigned prefixlen)
{
	struct nl nl = {.fd = -1};
	struct nl_req r;
	struct v4addr a = {.prefix = (uint8_t)prefixlen};
	int err;

	if (prefixlen > 32)
		return -EINVAL;
	memcpy(a.local, ip4, 4);
	memcpy(a.address, ip4, 4);
	err = nl_open(&nl);
	if (err)
		return err;
	err = flush_other_v4(&nl, dev->ifindex, &a);
	if (err)
		goto out;

	addr_req(&r, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, dev->ifindex, &a);
	/* /31 and /32 have no broadcast address (RFC 3021). */
	if (prefixlen <= 30) {
		uint32_t mask = prefixlen ? ~0u << (32 - prefixlen) : 0;
		uint32_t bcast = htonl(get_be32(ip4) | ~mask);
		nl_attr(&r, IFA_BROADCAST, &bcast, 4);
	}
	err = nl_send(&nl, &r);
	if (!err)
		err = nl_recv(&nl, NULL, NULL);
	if (err)
		goto out;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(r.ifi));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = (int)dev->ifindex;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	err = nl_send(&nl, &r);
	if (!err)
		err = nl_recv(&nl, NULL, NULL);
out:
	nl_close(&nl);
	return err;
}

int device_get_ipv4(const struct device *dev, uint8_t ip4[4], unsigned *prefixlen)
{
	struct ifreq ifr = {0};
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)&ifr.ifr_addr;
	int err = ifreq_ioctl(dev->ifname, SIOCGIFADDR, &ifr);

	if (err)
		return err;
	memcpy(ip4, &sin->sin_addr, 4);
	if (!prefixlen)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	err = ifreq_ioctl(dev->ifname, SIOCGIFNETMASK, &ifr);
	if (err)
		return err;
	*prefixlen = (unsigned)__builtin_popcount(sin->sin_addr.s_addr);
	return 0;
}

/* --- ifup / ifdown --------------------------------------------------------------------- */

int device_run_cmd(const char *cmd, const char *ifname)
{
	char *ifenv = NULL, **envp = NULL;
	pid_t pid;
	int err, status;

	if (ifname && asprintf(&ifenv, "IFNAME=%s", ifname) < 0)
		return -ENOMEM;
	envp = hooks_env_new(&ifenv, ifenv ? 1 : 0);
	err = envp ? hooks_spawn(cmd, envp, &pid) : -ENOMEM;
	free(envp);
	free(ifenv);
	if (err)
		return err;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return hooks_status_code(status);
}

/* --- rp_filter ------------------------------------------------------------------------- */

static int rp_path(char *path, size_t len, const char *confdir, const char *name)
{
	/* An interface name never contains '/'; refuse anything that would leave confdir. */
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	int n =
	    snprintf(path, len, "%s/%s/rp_filter", confdir ? confdir : DEVICE_RP_FILTER_DIR, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int rp_read(const char *confdir, const char *name)
{
	char path[PATH_MAX];
	int v, err = rp_path(path, sizeof(path), confdir, name);
	FILE *f;

	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	err = fscanf(f, "%d", &v) == 1 && v >= 0 ? v : -EINVAL;
	fclose(f);
	return err;
}

static int rp_write(const char *confdir, const char *name, int v)
{
	char path[PATH_MAX], text[16];
	int fd, n, err = rp_path(path, sizeof(path), confdir, name);

	if (err)
		return err;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%d\n", v);
	ssize_t w = write(fd, text, (size_t)n);
	if (w < 0)
		err = -errno;
	else if (w != n)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int device_rp_filter_get(const char *confdir, const char *ifname)
{
	int all = rp_read(confdir, "all");
	int dev = rp_read(confdir, ifname);

	if (all < 0)
		return all;
	if (dev < 0)
		return dev;
	return MAX(all, dev);
}

int device_rp_filter_fix(const char *confdir, const char *ifname)
{
	int err, v = rp_read(confdir, "all");

	if (v < 0)
		return v;
	if (v > 1) {
		err = rp_write(confdir, "all", 1);
		if (err)
			return err;
	}
	v = rp_read(confdir, ifname);
	if (v < 0)
		return v;
	return v == 1 ? 0 : rp_write(confdir, ifname, 1);
}
