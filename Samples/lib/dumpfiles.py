#!/usr/bin/env python3
"""Host-side helpers for dump files (stdlib only).

  dumpfiles.py elf-from-disk DISK OUT    copy the ELF vmcore at the start of a raw
                                         disk; its length follows from its headers
  dumpfiles.py flat-from-disk DISK OUT   copy a makedumpfile flattened stream up to
                                         and including its end marker
  dumpfiles.py vmcoreinfo DUMP           print the VMCOREINFO text (empty if none) of an
                                         ELF, kdump-compressed or flattened dump
"""
import os
import struct
import sys

CHUNK = 1 << 20


def copy_prefix(src, dst, length):
    """Copy the first LENGTH bytes; all-zero chunks become holes (sparse output)."""
    zero = bytes(CHUNK)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        left = length
        while left:
            buf = fi.read(min(CHUNK, left))
            if not buf:
                sys.exit(f"{src}: short read, {left} bytes missing")
            if buf == zero[:len(buf)]:
                fo.seek(len(buf), os.SEEK_CUR)
            else:
                fo.write(buf)
            left -= len(buf)
        fo.truncate(length)


def elf_phdrs(f):
    ehdr = f.read(64)
    if ehdr[:4] != b"\x7fELF" or ehdr[4] != 2:
        sys.exit("not an ELF64 file")
    phoff, = struct.unpack_from("<Q", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    phdrs = [struct.unpack_from("<IIQQQQQQ", table, i * phentsize) for i in range(phnum)]
    return phoff + phentsize * phnum, phdrs  # (p_type, p_flags, p_offset, vaddr, paddr, filesz, memsz, align)


def elf_length(path):
    with open(path, "rb") as f:
        end, phdrs = elf_phdrs(f)
    return max([end] + [p[2] + p[5] for p in phdrs])


def flat_length(path):
    with open(path, "rb") as f:
        head = f.read(32)
        if head[:12] != b"makedumpfile" or struct.unpack(">qq", head[16:32]) != (1, 1):
            sys.exit(f"{path}: no flattened makedumpfile header")
        pos = 4096
        while True:  # records: BE offset, BE size, payload; end marker is offset -1
            f.seek(pos)
            rec = f.read(16)
            if len(rec) < 16:
                sys.exit(f"{path}: flattened stream has no end marker")
            offset, size = struct.unpack(">qq", rec)
            pos += 16
            if offset == -1:
                return pos
            if offset < 0 or size <= 0:
                sys.exit(f"{path}: bad flattened record at {pos - 16}")
            pos += size


class FlatFile:
    """Read a flattened stream as the file it describes (bytes never written read as 0)."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.records, pos = [], 4096
        while True:
            self.f.seek(pos)
            offset, size = struct.unpack(">qq", self.f.read(16))
            if offset == -1:
                break
            self.records.append((offset, size, pos + 16))
            pos += 16 + size

    def pread(self, offset, length):
        buf = bytearray(length)
        for off, size, at in self.records:  # later records win, as with makedumpfile -R
            lo, hi = max(off, offset), min(off + size, offset + length)
            if lo < hi:
                self.f.seek(at + lo - off)
                buf[lo - offset:hi - offset] = self.f.read(hi - lo)
        return bytes(buf)


class PlainFile:
    def __init__(self, path):
        self.f = open(path, "rb")

    def pread(self, offset, length):
        self.f.seek(offset)
        return self.f.read(length)


def vmcoreinfo(path):
    with open(path, "rb") as f:
        magic = f.read(12)
    if magic[:4] == b"\x7fELF":
        return elf_vmcoreinfo(path)
    r = FlatFile(path) if magic == b"makedumpfile" else PlainFile(path)
    head = r.pread(0, 464)
    if head[:8] != b"KDUMP   ":
        sys.exit(f"{path}: neither ELF nor kdump-compressed")
    block_size, = struct.unpack_from("<i", head, 428)
    off, size = struct.unpack_from("<QQ", r.pread(block_size, 104), 32)  # offset/size_vmcoreinfo
    return r.pread(off, size).rstrip(b"\0").decode("ascii", "replace") if off and size else ""


def elf_vmcoreinfo(path):
    with open(path, "rb") as f:
        _, phdrs = elf_phdrs(f)
        for p in phdrs:
            if p[0] != 4:  # PT_NOTE
                continue
            f.seek(p[2])
            data, i = f.read(p[5]), 0
            while i + 12 <= len(data):
                namesz, descsz, _ = struct.unpack_from("<III", data, i)
                name = data[i + 12:i + 12 + namesz].rstrip(b"\0")
                desc_at = i + 12 + (namesz + 3) // 4 * 4
                if name == b"VMCOREINFO":
                    return data[desc_at:desc_at + descsz].rstrip(b"\0").decode("ascii", "replace")
                i = desc_at + (descsz + 3) // 4 * 4
    return ""


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "elf-from-disk":
        copy_prefix(args[0], args[1], elf_length(args[0]))
    elif cmd == "flat-from-disk":
        copy_prefix(args[0], args[1], flat_length(args[0]))
    elif cmd == "vmcoreinfo":
        print(vmcoreinfo(args[0]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
