#!/usr/bin/env python3
"""Generates the bench/package data set: a build artifact directory, about 200 MB by default.

    gen.py DIR [--scale F] [--seed N]

Deterministic for a given seed (every byte comes from the seeded generator). Roughly, at scale 1,
what a web service's release artifact looks like:
  bin/          an executable of ~60 MB of compressible machine-code-like records, plus two
                helper executables
  lib/          ~45 MB of shared objects (compressible records) and ~35 MB of incompressible
                packed data (an embedded asset bundle, a model, a .wasm already compressed)
  share/static/ ~4,000 small JS, CSS, HTML, JSON and source-map files, 100 B - 60 KB
  share/assets/ ~40 medium files: images and fonts (incompressible, 50 KB - 1 MB) and SQL /
                JSON fixtures (compressible, 100 KB - 2 MB)
  a couple of symlinks and an empty directory
"""
import argparse
import os
import random
import struct

WORDS = (
    "function return const let var if else for while break continue switch case default new this "
    "import export from class extends super async await try catch finally throw typeof instanceof "
    "null undefined true false Promise Object Array String Number Math JSON document window "
    "module require exports prototype length push map filter reduce forEach then resolve reject "
    "color margin padding display flex grid width height border background font px em rem auto none"
).split()


def text_pool(rng, size):
    """JS/CSS-like text that gzip compresses about 4x, like real minified-and-not bundles."""
    vocab = WORDS + [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$") for _ in range(rng.randint(2, 12)))
        for _ in range(5000)
    ]
    punct = ["(", ")", "{", "}", ";", ",", ".", "=", "=>", ":", "[", "]", "+", "&&", "||", "!"]
    out = []
    n = 0
    while n < size:
        parts = []
        for _ in range(rng.randint(3, 16)):
            parts.append(rng.choice(vocab))
            if rng.random() < 0.5:
                parts.append(rng.choice(punct))
        if rng.random() < 0.1:
            parts.append(f'"{rng.randint(0, 1 << 32):08x}"')
        line = " " * (2 * rng.randint(0, 5)) + "".join(parts)
        out.append(line)
        n += len(line) + 1
    return ("\n".join(out) + "\n").encode()[:size]


def record_pool(rng, size):
    """Compressible binary: records with a few random fields, like object code and symbol tables."""
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
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    s = a.scale
    root = a.dir
    totals = {}

    # Pools sliced at random offsets per file keep generation fast and files distinct.
    text = text_pool(rng, 8_000_000)
    records = record_pool(rng, 16 << 20)

    def slices(pool, size):
        parts = []
        while size > 0:
            n = min(size, 64 << 10)
            start = rng.randrange(0, len(pool) - n)
            parts.append(pool[start : start + n])
            size -= n
        return b"".join(parts)

    def add(part, path, data, mode=0o644):
        write(f"{root}/{path}", data, mode)
        files, size = totals.get(part, (0, 0))
        totals[part] = (files + 1, size + len(data))

    add("bin", "bin/server", slices(records, int(60_000_000 * s)), 0o755)
    add("bin", "bin/migrate", slices(records, int(6_000_000 * s)), 0o755)
    add("bin", "bin/healthcheck", slices(records, int(1_500_000 * s)), 0o755)

    remaining = int(45_000_000 * s)
    i = 0
    while remaining > 0:
        size = min(remaining, rng.randint(2_000_000, 12_000_000))
        add("lib (records)", f"lib/libdep{i}.so", slices(records, size))
        remaining -= size
        i += 1
    for name, size in (("assets.pak", 20_000_000), ("model.bin", 10_000_000), ("app.wasm.br", 5_000_000)):
        add("lib (packed)", f"lib/{name}", rng.randbytes(int(size * s)))

    extensions = ["js", "js", "js", "css", "html", "json", "map"]
    for i in range(int(4_000 * s)):
        ext = extensions[i % len(extensions)]
        size = int(min(60_000, rng.lognormvariate(8.0, 1.1)) + 100)
        add("share/static", f"share/static/chunk{i % 64}/part{i}.{ext}", slices(text, size))

    for i in range(int(24 * s)):
        ext = ("png", "jpg", "woff2", "webp")[i % 4]
        add("share/assets (media)", f"share/assets/media/asset{i}.{ext}", rng.randbytes(rng.randint(50_000, 1_000_000)))
    for i in range(int(16 * s)):
        ext = ("sql", "json")[i % 2]
        add("share/assets (fixtures)", f"share/assets/fixtures/fixture{i}.{ext}", slices(text, rng.randint(100_000, 2_000_000)))

    os.makedirs(f"{root}/var/empty", exist_ok=True)
    for link, target in (("bin/app", "server"), ("share/static/index.js", "chunk0/part0.js")):
        if not os.path.lexists(f"{root}/{link}"):
            os.symlink(target, f"{root}/{link}")

    for part, (files, size) in totals.items():
        print(f"  {part:26} {files:6} files {size / 1e6:8.1f} MB")
    files = sum(f for f, _ in totals.values())
    size = sum(b for _, b in totals.values())
    print(f"{files} files, {size / 1e6:.1f} MB of content in {root}")


if __name__ == "__main__":
    main()
