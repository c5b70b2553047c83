#!/usr/bin/env python3
"""An independent reader of a C2SP tlog-tiles log (https://c2sp.org/tlog-tiles), written from
the specification's text, not from sealgate's code: it fetches the signed checkpoint, checks its
Ed25519 signed-note signature (c2sp.org/signed-note), fetches every tile and entry bundle the
checkpoint's size needs, and checks that

  * each entry bundle's entries hash (RFC 6962 leaf hash) to the level-0 tile's hashes,
  * each hash of a tile at level l >= 1 is the Merkle Tree Hash of the full tile it names at
    level l - 1,
  * the Merkle Tree Hash of all the leaves is the checkpoint's root,
  * tiles are served as application/octet-stream with long-lived caching, the checkpoint with
    at most a few seconds,
  * what the checkpoint does not cover (a tile past its size, a non-canonical path) is 404.

Usage: tlog-tiles-check.py PREFIX ORIGIN LOG_PUBLIC_KEY_BASE64
  PREFIX  the log's URL prefix (http://127.0.0.1:PORT/v1/log); loopback only
  ORIGIN  the checkpoint's origin line and signer name
  LOG_PUBLIC_KEY_BASE64  the log's Ed25519 key as minisign prints it (base64 of 'Ed' + key id + key)
Prints one JSON line of counts; exits 1 with a message on the first failure.
"""
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print("tlog-tiles-check: " + msg, file=sys.stderr)
    sys.exit(1)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 6962 section 2.1's MTH over already-hashed leaves, by its recursive definition."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def index_path(n):
    """'x001/x234/067' for 1234067, as the specification's example."""
    parts = []
    while True:
        parts.append("%03d" % (n % 1000))
        n //= 1000
        if n == 0:
            break
    parts.reverse()
    return "/".join(["x" + p for p in parts[:-1]] + [parts[-1]])


def tile_url(prefix, level, n, width):
    suffix = "" if width == 256 else ".p/%d" % width
    return "%s/tile/%s/%s%s" % (prefix, level, index_path(n), suffix)


def main():
    if len(sys.argv) != 4:
        fail("usage: tlog-tiles-check.py PREFIX ORIGIN LOG_PUBLIC_KEY_BASE64")
    prefix, origin, key_b64 = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    host = urllib.parse.urlparse(prefix).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        fail("only a loopback log is read by this check")
    raw_key = base64.b64decode(key_b64)
    if len(raw_key) != 42 or raw_key[:2] != b"Ed":
        fail("not a minisign Ed25519 public key")
    pub = raw_key[10:]

    # The checkpoint: a signed note (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).
    status, headers, body = get(prefix + "/checkpoint")
    if status != 200 or not headers.get("content-type", "").startswith("text/plain"):
        fail("checkpoint: HTTP %d, %s" % (status, headers.get("content-type")))
    cache = headers.get("cache-control", "")
    if "immutable" in cache or not ("no-cache" in cache or "no-store" in cache or any(
            p.strip().startswith("max-age=") and int(p.strip()[8:]) <= 10 for p in cache.split(","))):
        fail("checkpoint: caching for more than a few seconds (%r)" % cache)
    text = body.decode("utf-8")
    if "\n\n" not in text:
        fail("checkpoint: no signature block")
    note, sigs = text.split("\n\n", 1)
    note += "\n"
    lines = note.split("\n")[:-1]
    if len(lines) < 3 or lines[0] != origin:
        fail("checkpoint: origin %r, expected %r" % (lines[0] if lines else None, origin))
    size = int(lines[1])
    root = base64.b64decode(lines[2])
    key_id = hashlib.sha256(origin.encode() + b"\n" + b"\x01" + pub).digest()[:4]
    verified = False
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 " + origin + " "):
            continue
        sig = base64.b64decode(line.split(" ")[2])
        if sig[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], note.encode("utf-8"))
            verified = True
        except InvalidSignature:
            fail("checkpoint: a signature by %s does not verify" % origin)
    if not verified:
        fail("checkpoint: no signature by the log key")

    # Every tile the size needs, level by level.
    fetched = {"tiles": 0, "partial_tiles": 0, "bundles": 0}
    full_tiles = {}  # (level, n) -> list of 32-byte hashes, full tiles only
    leaves = []
    level = 0
    while size >> (8 * level) > 0:
        count = size >> (8 * level)
        for n in range((count + 255) // 256):
            width = min(256, count - n * 256)
            status, headers, data = get(tile_url(prefix, level, n, width))
            if status != 200:
                fail("tile %d/%d (width %d): HTTP %d" % (level, n, width, status))
            if headers.get("content-type") != "application/octet-stream":
                fail("tile %d/%d: content type %r" % (level, n, headers.get("content-type")))
            if "immutable" not in headers.get("cache-control", "") and "max-age=31536000" not in headers.get("cache-control", ""):
                fail("tile %d/%d: not long-lived in caches (%r)" % (level, n, headers.get("cache-control")))
            if len(data) != 32 * width:
                fail("tile %d/%d: %d bytes for %d hashes" % (level, n, len(data), width))
            hashes = [data[i:i + 32] for i in range(0, len(data), 32)]
            fetched["tiles" if width == 256 else "partial_tiles"] += 1
            if width == 256:
                full_tiles[(level, n)] = hashes
            if level == 0:
                status, headers, bundle = get(tile_url(prefix, "entries", n, width))
                if status != 200:
                    fail("entry bundle %d (width %d): HTTP %d" % (n, width, status))
                fetched["bundles"] += 1
                entries, i = [], 0
                while i < len(bundle):
                    length = int.from_bytes(bundle[i:i + 2], "big")
                    if i + 2 + length > len(bundle):
                        fail("entry bundle %d: an entry runs past its end" % n)
                    entries.append(bundle[i + 2:i + 2 + length])
                    i += 2 + length
                if len(entries) != width:
                    fail("entry bundle %d: %d entries, tile width %d" % (n, len(entries), width))
                for j, e in enumerate(entries):
                    if leaf_hash(e) != hashes[j]:
                        fail("entry %d does not hash to its level-0 tile hash" % (n * 256 + j))
                leaves += hashes
            else:
                for j, h in enumerate(hashes):
                    below = full_tiles.get((level - 1, n * 256 + j))
                    if below is None or mth(below) != h:
                        fail("tile %d/%d hash %d is not the hash of full tile %d/%d" % (level, n, j, level - 1, n * 256 + j))
        level += 1
    if len(leaves) != size:
        fail("%d leaves for a checkpoint of %d" % (len(leaves), size))
    if mth(leaves) != root:
        fail("the leaves do not hash to the checkpoint's root")

    # What the checkpoint does not cover is not served, nor any other spelling of a path.
    count0 = size
    probes = [tile_url(prefix, 0, count0 // 256 + 1, 1), tile_url(prefix, "entries", count0 // 256 + 1, 1),
              prefix + "/tile/0/0", prefix + "/tile/0/x000/000", prefix + "/tile/0/000.p/0", prefix + "/tile/0/000.p/256",
              prefix + "/tile/64/000"]
    if count0 % 256:
        probes.append(tile_url(prefix, 0, count0 // 256, 256))
    for url in probes:
        status, _, _ = get(url)
        if status != 404:
            fail("%s: HTTP %d, expected 404" % (url[len(prefix):], status))
    fetched.update({"size": size, "levels": level, "root": base64.b64encode(root).decode()})
    print(json.dumps(fetched, sort_keys=True))


if __name__ == "__main__":
    main()
