#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture.py - helper of tests/fuzz/capture.sh (a maintainer tool, not run by make check).

  capture.py sniff IFACE DIR         record UDP datagrams and TCP streams seen on IFACE
                                     ("any": all; AF_PACKET, IPv4 only) into DIR until SIGTERM
  capture.py mgmtrec LISTEN TARGET FILE
                                     a Unix socket at LISTEN relaying to TARGET; every line a
                                     client sends is appended to FILE
  capture.py seeds DIR OUT           turns the records in DIR into fuzz inputs, one directory
                                     per target under OUT (see seeds() for each format)
"""
import os
import signal
import socket
import struct
import sys
import threading

PORT = 3210  # the nodes' and the proxy's port in capture.sh
MAX_SEED = 4096


def sniff(iface, out):
    os.makedirs(out + "/udp", exist_ok=True)
    os.makedirs(out + "/tcp", exist_ok=True)
    # a bridge's own interface sees only what is addressed to it: with IFACE "any" the
    # socket takes every port of the namespace (each frame twice, in and out: deduplicated).
    # ETH_P_ALL: a bridge port's frames never reach a per-protocol (ETH_P_IP) socket.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    if iface != "any":
        s.bind((iface, 0))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    seen_udp, tcp_next, n = set(), {}, 0
    s.settimeout(0.2)
    while not stop:
        try:
            frame = s.recv(65535)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl, proto = (ip[0] & 15) * 4, ip[9]
        tot = struct.unpack(">H", ip[2:4])[0]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        l4 = ip[ihl:tot]
        if proto == 17 and len(l4) >= 8:
            sp, dp = struct.unpack(">HH", l4[:4])
            data = l4[8:]
            if PORT not in (sp, dp) or data in seen_udp:
                continue
            seen_udp.add(data)
            n += 1
            with open("%s/udp/%05d_%s_%d_%s_%d" % (out, n, src, sp, dst, dp), "wb") as f:
                f.write(data)
        elif proto == 6 and len(l4) >= 20:
            sp, dp, seq = struct.unpack(">HHI", l4[:8])
            data = l4[(l4[12] >> 4) * 4:]
            flow = "%s_%d_%s_%d" % (src, sp, dst, dp)
            if PORT not in (sp, dp) or not data:
                continue
            # in order on a veth LAN; a retransmission (seq already written) is skipped
            if flow in tcp_next and seq != tcp_next[flow]:
                continue
            tcp_next[flow] = (seq + len(data)) & 0xFFFFFFFF
            with open("%s/tcp/%s" % (out, flow), "ab") as f:
                f.write(data)


def mgmtrec(listen, target, path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(8)
    lock = threading.Lock()

    def pipe(a, b, record):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if record:
                    with lock, open(path, "ab") as f:
                        f.write(d)
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        c, _ = srv.accept()
        t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        t.connect(target)
        threading.Thread(target=pipe, args=(c, t, True), daemon=True).start()
        threading.Thread(target=pipe, args=(t, c, False), daemon=True).start()


# ---- seeds -------------------------------------------------------------------------------


def records(pairs):
    """fuzz_crypto_common.h records: op (1) || length (1) || data (at most 255 bytes)."""
    return b"".join(bytes([op, min(len(d), 255)]) + d[:255] for op, d in pairs)


def hs_fields(msg):
    """The TLV fields of an init message (0xFF, salt 4, key hash 4, TLVs..., END, sig)."""
    p, fields = 9, {}
    while p + 1 <= len(msg) and msg[p] != 0:
        if p + 3 > len(msg):
            return None, fields
        t, n = msg[p], struct.unpack(">H", msg[p + 1:p + 3])[0]
        fields[t] = msg[p + 3:p + 3 + n]
        p += 3 + n
    return msg[9:p], fields


def http_split(stream):
    end = stream.find(b"\r\n\r\n")
    return (stream, b"") if end < 0 else (stream[:end + 4], stream[end + 4:])


def ws_frames(stream):
    """Splits a WebSocket byte stream into whole frames (bytes) and their unmasked payloads."""
    out, p = [], 0
    while p + 2 <= len(stream):
        b1 = stream[p + 1]
        n, h = b1 & 127, 2
        if n == 126:
            n, h = struct.unpack(">H", stream[p + 2:p + 4])[0], 4
        elif n == 127:
            n, h = struct.unpack(">Q", stream[p + 2:p + 10])[0], 10
        mask = stream[p + h:p + h + 4] if b1 & 128 else None
        h += 4 if mask else 0
        if p + h + n > len(stream):
            break
        body = stream[p + h:p + h + n]
        if mask:
            body = bytes(c ^ mask[i % 4] for i, c in enumerate(body))
        out.append((stream[p:p + h + n], stream[p] & 15, body))
        p += h + n
    return out


def seeds(d, out):
    got = {}

    def put(target, name, data, cut=False):
        if cut and len(data) > MAX_SEED:
            data = data[:data.rfind(b"\n", 0, MAX_SEED) + 1]
        if not data or len(data) > MAX_SEED:
            return
        os.makedirs("%s/%s" % (out, target), exist_ok=True)
        with open("%s/%s/%s" % (out, target, name), "wb") as f:
            f.write(data)
        got[target] = got.get(target, 0) + 1

    udp = sorted(os.listdir(d + "/udp")) if os.path.isdir(d + "/udp") else []
    inner = []  # plain-session messages: the inner message itself (PROTOCOL.md 1.5)
    for name in udp:
        msg = open("%s/udp/%s" % (d, name), "rb").read()
        if msg[0] == 0xFF and len(msg) > 9:
            fields, tlv = hs_fields(msg)
            stage = tlv.get(1, b"?")[:1]
            tag = {b"\x00": "ping", b"\x01": "pong", b"\x02": "peng"}.get(stage, "init")
            # raw (signature fails with the fuzz key: the decoder) to both sides, and the
            # captured fields re-signed with the fixed fuzz identity by the target (op 2/3)
            for algo in range(4):
                recs = [(0, msg), (1, msg)]
                if fields is not None:
                    recs += [(2, fields), (3, fields)]
                put("fuzz_handshake", "cap-%s-%s-a%d" % (name[:5], tag, algo),
                    bytes([algo]) + records(recs))
            if 5 in tlv and len(tlv[5]) and tag != "init":
                put("fuzz_nodeinfo", "cap-%s-hs-%s" % (name[:5], tag), tlv[5])
            continue
        inner.append((name, msg))
    for name, msg in inner:
        kind = {0: "data", 1: "nodeinfo", 2: "keepalive"}.get(msg[0], "t%02x" % msg[0])
        # a plain session (algorithm index 3) receives the datagram as it was; an encrypted
        # one gets the same inner message sealed by the peer with the target's fixed keys
        put("fuzz_frame", "cap-%s-%s-plain" % (name[:5], kind), b"\x03" + records([(1, msg)]))
        put("fuzz_frame", "cap-%s-%s-sealed" % (name[:5], kind),
            bytes([int(name[:5]) % 3]) + records([(2, msg), (3, msg), (4, b""), (2, msg)]))
        if msg[0] == 1:
            put("fuzz_nodeinfo", "cap-%s" % name[:5], msg[1:])
        if msg[0] == 0 and len(msg) > 1:
            put("fuzz_payload", "cap-%s-ip" % name[:5], b"\x00" + msg[1:])
            put("fuzz_offload", "cap-%s-ip" % name[:5], b"\x02" + bytes(10) + msg[1:])
    tcp = sorted(os.listdir(d + "/tcp")) if os.path.isdir(d + "/tcp") else []
    for name in tcp:
        stream = open("%s/tcp/%s" % (d, name), "rb").read()
        head, rest = http_split(stream)
        frames = ws_frames(rest)
        small = b"".join(f for f, _, _ in frames[:24])
        tag = name.replace(".", "-")
        if head.startswith(b"GET "):
            put("fuzz_websocket", "cap-req-" + tag, b"\x00" + head)
            put("fuzz_websocket", "cap-c2s-" + tag, b"\x02\xff" + small)
            put("fuzz_websocket", "cap-c2s-split-" + tag, b"\x02\x06" + small)
        elif head.startswith(b"HTTP/"):
            put("fuzz_websocket", "cap-resp-" + tag, b"\x01" + head)
            put("fuzz_websocket", "cap-s2c-" + tag, b"\x03\xff" + small)
            # the client's view: answer, public address, datagrams (key of fuzz_wsclient)
            put("fuzz_wsclient", "cap-" + tag, b"\xff\xc0" + head + small)
            put("fuzz_wsclient", "cap-split-" + tag, b"\x04\x02" + head + small)
    for sub, target in (("mgmt", "fuzz_mgmt"),):
        path = "%s/%s.lines" % (d, sub)
        if os.path.exists(path):
            for i, line in enumerate(open(path, "rb").read().split(b"\n")):
                put(target, "cap-%02d" % i, line)
    for sub, target in (("beacon", "fuzz_beacon"), ("registry", "fuzz_registry"),
                        ("config", "fuzz_config"), ("metrics", "fuzz_metrics"),
                        ("acl", "fuzz_acl"), ("ratelimit", "fuzz_ratelimit")):
        if os.path.isdir("%s/%s" % (d, sub)):
            for name in sorted(os.listdir("%s/%s" % (d, sub))):
                put(target, "cap-" + name, open("%s/%s/%s" % (d, sub, name), "rb").read(),
                    cut=sub == "metrics")
    for t in sorted(got):
        print("%-16s %d candidate seeds" % (t, got[t]))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sniff" and len(sys.argv) == 4:
        sniff(sys.argv[2], sys.argv[3])
    elif cmd == "mgmtrec" and len(sys.argv) == 5:
        mgmtrec(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "seeds" and len(sys.argv) == 4:
        seeds(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
