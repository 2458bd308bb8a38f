"""OSC 1.0 messages on the wire, for the bench scripts (UDP clients and scsynth's binary
scores): encode a message, parse one."""
import struct


def pad(b):
    """`b` padded with NULs to a multiple of 4 (at least one, as strings need)."""
    return b + b"\0" * (4 - len(b) % 4)


def message(address, *args):
    """One message: ints (and bools) as i, floats as f, bytes as a blob, the rest as s."""
    tags, data = ",", b""
    for a in args:
        if isinstance(a, bool):
            a = int(a)
        if isinstance(a, bytes):
            tags += "b"
            data += struct.pack(">i", len(a)) + (pad(a) if len(a) % 4 else a)
        elif isinstance(a, int):
            tags += "i"
            data += struct.pack(">i", a)
        elif isinstance(a, float):
            tags += "f"
            data += struct.pack(">f", a)
        else:
            tags += "s"
            data += pad(str(a).encode())
    return pad(address.encode()) + pad(tags.encode()) + data


def parse(packet):
    """(address, [args]) of a message; (None, []) for a bundle."""
    def string(at):
        end = packet.index(b"\0", at)
        return packet[at:end].decode(errors="replace"), (end + 4) & ~3
    if packet.startswith(b"#bundle"):
        return None, []
    address, at = string(0)
    if at >= len(packet):
        return address, []
    tags, at = string(at)
    args = []
    for t in tags[1:]:
        if t == "i":
            args.append(struct.unpack(">i", packet[at:at + 4])[0]); at += 4
        elif t == "f":
            args.append(struct.unpack(">f", packet[at:at + 4])[0]); at += 4
        elif t == "h":
            args.append(struct.unpack(">q", packet[at:at + 8])[0]); at += 8
        elif t == "d":
            args.append(struct.unpack(">d", packet[at:at + 8])[0]); at += 8
        elif t == "s":
            s, at = string(at); args.append(s)
        elif t in "TFN":
            args.append(t == "T")
    return address, args
