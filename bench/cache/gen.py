#!/usr/bin/env python3
"""Generates the bench/cache data set: a directory of mixed files, about 500 MB by default.

    gen.py DIR [--scale F] [--seed N]

Deterministic for a given seed. Roughly, at scale 1:
  src/        ~14,000 source-like text files, 200 B - 40 KB (many small files)
  node_modules/ ~6,000 small JS/JSON files, 100 B - 8 KB, with a few symlinks
  target/     ~300 MB of compressible binary: fake object files and rlibs
              (repeated structured records with varying fields), plus an executable
  blobs/      ~120 MB of random, incompressible data in 1-20 MB files
  empty dirs and a few 0-byte files
"""
import argparse
import os
import random
import struct

WORDS = (
    "fn let mut pub struct impl match return self async await use crate mod enum trait where "
    "if else for while loop break continue const static type unsafe move ref as in Some None "
    "Ok Err Result Option String Vec Box Arc usize u64 i32 bool true false new from into iter "
    "map filter collect clone unwrap expect len push insert get config path file error value"
).split()


def text_file(rng, size):
    # Keywords plus a few thousand made-up identifiers, so text compresses like real source (~4-5x).
    vocab = WORDS + [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 14))) for _ in range(4000)
    ]
    out = []
    n = 0
    indent = 0
    while n < size:
        line = "    " * indent + " ".join(rng.choice(vocab) for _ in range(rng.randint(2, 12)))
        if rng.random() < 0.15:
            line += " {"
            indent = min(indent + 1, 6)
        elif rng.random() < 0.15 and indent:
            indent -= 1
            line = "    " * indent + "}"
        if rng.random() < 0.1:
            line += f" // {rng.randint(0, 1 << 30):x}"
        out.append(line)
        n += len(line) + 1
    return ("\n".join(out) + "\n").encode()[:size]


def binary_records(rng, size):
    """Compressible binary: records with a few random fields, like object code and metadata."""
    chunks = []
    n = 0
    symbols = [rng.randbytes(rng.randint(8, 40)) for _ in range(256)]
    while n < size:
        rec = struct.pack("<IHHQ", rng.randint(0, 4096), rng.randint(0, 16), 0x90, rng.randint(0, 1 << 20))
        rec += symbols[rng.randint(0, 255)] + bytes(rng.randint(0, 24))
        chunks.append(rec)
        n += len(rec)
    return b"".join(chunks)[:size]


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    s = a.scale
    root = a.dir
    total = 0
    files = 0

    # Pools of generated text and binary, sliced differently per file, keep generation fast.
    pool = text_file(rng, 12_000_000)
    bin_pool = binary_records(rng, 16 << 20)

    def binary_blob(size):
        parts = []
        while size > 0:
            n = min(size, 64 << 10)
            start = rng.randrange(0, len(bin_pool) - n)
            parts.append(bin_pool[start : start + n])
            size -= n
        return b"".join(parts)

    def text(size):
        start = rng.randint(0, len(pool) - size - 1)
        return pool[start : start + size]

    for i in range(int(14_000 * s)):
        size = int(min(40_000, rng.lognormvariate(7.6, 1.0)) + 200)
        d = f"src/mod{i % 97}/sub{i % 13}"
        data = text(size)
        write(f"{root}/{d}/file_{i}.rs", data)
        total += len(data)
        files += 1
    for i in range(int(6_000 * s)):
        size = rng.randint(100, 8_000)
        d = f"node_modules/pkg{i % 400}/lib"
        data = text(size)
        write(f"{root}/{d}/index{i}.js", data)
        total += len(data)
        files += 1
    for i in range(int(20 * s)):
        os.makedirs(f"{root}/node_modules/.bin", exist_ok=True)
        link = f"{root}/node_modules/.bin/tool{i}"
        if not os.path.lexists(link):
            os.symlink(f"../pkg{i}/lib/index{i}.js", link)

    target = int(290_000_000 * s)
    i = 0
    while target > 0:
        size = min(target, int(rng.lognormvariate(13.5, 1.2)) + 4096)
        data = binary_blob(size)
        write(f"{root}/target/debug/deps/lib{i}.rlib", data)
        target -= size
        total += size
        files += 1
        i += 1
    exe = binary_blob(int(8_000_000 * s))
    write(f"{root}/target/debug/app", exe, 0o755)
    total += len(exe)
    files += 1

    randoms = int(120_000_000 * s)
    i = 0
    while randoms > 0:
        size = min(randoms, rng.randint(1_000_000, 20_000_000))
        write(f"{root}/blobs/random{i}.bin", os.urandom(size))
        randoms -= size
        total += size
        files += 1
        i += 1

    for i in range(50):
        os.makedirs(f"{root}/empty/dir{i}", exist_ok=True)
        write(f"{root}/src/empty{i}.txt", b"")
        files += 1
    print(f"{files} files, {total / 1e6:.1f} MB of content in {root}")


if __name__ == "__main__":
    main()
