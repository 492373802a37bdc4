/* SPDX-License-Identifier: GPL-3.0-or-later */
/* device.h - the TUN/TAP device: open, MTU, IPv4 address (rtnetlink), rp_filter, ifup/down. */
#ifndef MESHVPN_DEVICE_H
#define MESHVPN_DEVICE_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "bytes.h"
#include "loop.h"
#include "util.h"

#define DEVICE_PATH_DEFAULT  "/dev/net/tun"
#define DEVICE_ROUTE_PATH    "/proc/net/route"
#define DEVICE_RP_FILTER_DIR "/proc/sys/net/ipv4/conf"
/* outer IPv6 (40, worst case) + UDP (8) + crypto header (8) + AEAD tag (16) + type (1) */
#define DEVICE_OVERHEAD_TUN 73
/* TUN overhead + the inner Ethernet header (14) */
#define DEVICE_OVERHEAD_TAP	 87
#define DEVICE_FALLBACK_LINK_MTU 1500 /* assumed link MTU when there is no default route */

enum device_type {
	DEVICE_TUN, /* IP packets, no packet-information header */
	DEVICE_TAP, /* Ethernet frames */
};

#define DEVICE_VNET_HDR_LEN 10 /* struct virtio_net_hdr in front of every packet when vnet */

struct device {
	struct loop_src src; /* src.fd is the TUN/TAP fd; register it with loop_add() */
	enum device_type type;
	bool vnet;	     /* IFF_VNET_HDR: reads and writes carry a virtio_net_hdr first */
	unsigned offloads;   /* TUN_F_* accepted by TUNSETOFFLOAD (with vnet) */
	unsigned ifindex;
	char ifname[IFNAMSIZ]; /* kernel-assigned name ("%d" resolved) */
};

static inline int device_overhead(enum device_type type)
{
	return type == DEVICE_TAP ? DEVICE_OVERHEAD_TAP : DEVICE_OVERHEAD_TUN;
}

/*
 * Opens the clone device path (NULL = DEVICE_PATH_DEFAULT) and attaches to or creates the
 * interface name (NULL or "" = "tun%d"/"tap%d"; "%d" lets the kernel pick the number) with
 * TUNSETIFF, IFF_NO_PI. Nonblocking, CLOEXEC. src.kind is left for the caller. 0 or -errno
 * (-ENAMETOOLONG for names of IFNAMSIZ or more).
 */
int device_open(struct device *dev, enum device_type type, const char *name, const char *path) WUR;
/*
 * Like device_open; with offload (TUN only) the device is opened with IFF_VNET_HDR and asks
 * the kernel for checksum and TCP/UDP segmentation offloads (dev->vnet, dev->offloads):
 * reads then return a virtio_net_hdr followed by a packet of up to 64 KiB, and writes must
 * start with one (device_writev).
 */
int device_open_ex(struct device *dev, enum device_type type, const char *name, const char *path,
		   bool offload) WUR;
/* Closes the fd; the kernel then removes a non-persistent device. Safe to call twice. */
void device_close(struct device *dev);

/*
 * Reads one packet into b at buf_data(b) (may fill the storage to its end; old len is
 * overwritten). b is borrowed. 0, -EAGAIN when nothing is queued, or -errno.
 */
int device_read(struct device *dev, struct buf *b) WUR;
/*
 * Reads up to n packets into bufs[0..n) (borrowed, as device_read). Returns the count (>= 1),
 * -EAGAIN when nothing is queued, or -errno; an error after the first packet ends the batch
 * and shows up again on the next call.
 */
int device_read_batch(struct device *dev, struct buf *const *bufs, unsigned n) WUR;
/*
 * Writes one packet/frame (data borrowed for the call). 0, -EAGAIN, or -errno (-EINVAL: the
 * kernel rejected the packet, e.g. not IPv4/IPv6 on TUN or shorter than a frame on TAP).
 */
int device_write(struct device *dev, const uint8_t *data, size_t len) WUR;
/* Writes one packet gathered from iov (with vnet: the header first). 0 or -errno. */
int device_writev(struct device *dev, const struct iovec *iov, int iovcnt) WUR;

/*
 * Scans /proc/net/route contents for the default-route interface: the first entry with
 * destination 00000000, else the last entry with a non-zero gateway. The header and malformed
 * lines are skipped. 0 (ifname set) or -ENOENT (ifname untouched).
 */
int device_route_parse(const char *text, char ifname[IFNAMSIZ]) WUR;
/*
 * The MTU for the VPN device: the default-route interface's MTU minus overhead. *mtu is
 * always set: on failure to DEVICE_FALLBACK_LINK_MTU - overhead. Returns 0 (ifname holds the
 * interface used), or -errno saying why it fell back (-ENOENT: no default route) so the
 * caller can log it.
 */
int device_default_mtu(int overhead, int *mtu, char ifname[IFNAMSIZ]) WUR;
/* The device's MTU (> 0) or -errno. */
int device_get_mtu(const struct device *dev) WUR;
/* Sets the device's MTU. 0 or -errno. */
int device_set_mtu(struct device *dev, int mtu) WUR;

/*
 * Gives the device the IPv4 address ip4/prefixlen (broadcast set for prefixes up to /30)
 * through rtnetlink, replacing any other IPv4 address on it, then sets the link up.
 * 0 or -errno (-EINVAL for prefixlen > 32).
 */
int device_set_ipv4(struct device *dev, const uint8_t ip4[4], unsigned prefixlen) WUR;
/*
 * Reads the device's (primary) IPv4 address and, if prefixlen is not NULL, its prefix length.
 * 0, -EADDRNOTAVAIL when it has none, or -errno.
 */
int device_get_ipv4(const struct device *dev, uint8_t ip4[4], unsigned *prefixlen) WUR;

/*
 * Runs `sh -c cmd` and waits for it (ifup/ifdown), with IFNAME=ifname added to the
 * environment (unless ifname is NULL) and PASSWORD/PRIVATE_KEY removed, stdio inherited,
 * and a clean signal mask and default dispositions in the child (hooks_spawn()). Returns
 * the exit status (0..255, 128 + signal number when killed) or -errno if it could not be
 * started.
 */
int device_run_cmd(const char *cmd, const char *ifname) WUR;

/*
 * The effective rp_filter value for ifname: max(all, ifname) read from confdir (NULL =
 * DEVICE_RP_FILTER_DIR). Returns the value (>= 0) or -errno.
 */
int device_rp_filter_get(const char *confdir, const char *ifname) WUR;
/*
 * Makes the effective value 1: all is lowered to 1 if greater, ifname set to 1 unless it is.
 * 0 or -errno.
 */
int device_rp_filter_fix(const char *confdir, const char *ifname) WUR;

#endif
