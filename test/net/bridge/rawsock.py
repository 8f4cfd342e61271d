#!/usr/bin/env python3
"""Raw-frame helper for the real-bridge conformance test (test/net/bridge/real-bridge.test.ts).

Runs inside the test's network namespace (`ip netns exec NS python3 rawsock.py IF1 IF2 ...`).
Opens one AF_PACKET/SOCK_RAW/ETH_P_ALL socket per interface and speaks JSON lines on
stdin/stdout:

  {"op": "send", "ifname": "q0", "hex": "ffff..."}   -> {"ok": true}
  {"op": "collect", "quiet_ms": 40, "marker": "584e4c42"}
        -> {"ok": true, "frames": [{"ifname": "q1", "hex": "..."}, ...]}
     waits until no marked frame has arrived for quiet_ms, then returns every frame received
     (not sent: PACKET_OUTGOING is skipped) since the last collect whose bytes contain the marker.
  {"op": "quit"}

Only frames carrying the marker are reported, so background traffic cannot disturb a test.
"""
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
AUX = struct.Struct("IIIHHHH")  # struct tpacket_auxdata


def main() -> None:
    names = sys.argv[1:]
    socks = {}
    for name in names:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        # the kernel strips a received VLAN tag into metadata; ask for it to put it back (as libpcap does)
        s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        s.setblocking(False)
        socks[s.fileno()] = (name, s)
    poller = select.poll()
    for fd in socks:
        poller.register(fd, select.POLLIN)

    def drain(marker: bytes, quiet_ms: int):
        frames = []
        last = time.monotonic()
        while True:
            remaining = quiet_ms / 1000.0 - (time.monotonic() - last)
            if remaining <= 0:
                break
            events = poller.poll(max(1, int(remaining * 1000)))
            for fd, _ in events:
                name, s = socks[fd]
                while True:
                    try:
                        data, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUX.size))
                    except BlockingIOError:
                        break
                    except OSError:  # e.g. ENETDOWN reported once after the interface went down
                        break
                    for level, typ, cdata in anc:
                        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= AUX.size:
                            status, _l, _s, _m, _n, tci, tpid = AUX.unpack(cdata[:AUX.size])
                            if status & TP_STATUS_VLAN_VALID:
                                if not (status & TP_STATUS_VLAN_TPID_VALID):
                                    tpid = 0x8100
                                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                    if addr[2] == PACKET_OUTGOING:
                        continue
                    if marker and marker not in data:
                        continue
                    frames.append({"ifname": name, "hex": data.hex()})
                    last = time.monotonic()
        return frames

    sys.stdout.write(json.dumps({"ok": True, "ready": names}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "send":
                name = req["ifname"]
                for _, (n, s) in socks.items():
                    if n == name:
                        s.send(bytes.fromhex(req["hex"]))
                        break
                else:
                    raise ValueError("unknown interface " + name)
                out = {"ok": True}
            elif op == "collect":
                marker = bytes.fromhex(req.get("marker", ""))
                out = {"ok": True, "frames": drain(marker, int(req.get("quiet_ms", 40)))}
            elif op == "quit":
                sys.stdout.write(json.dumps({"ok": True}) + "\n")
                sys.stdout.flush()
                return
            else:
                raise ValueError("unknown op " + str(op))
        except Exception as e:  # report, keep serving
            out = {"ok": False, "error": repr(e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
