#!/usr/bin/env python3
"""Submits package files to a sealgate gateway on loopback from N concurrent clients and prints
packages/s and latency percentiles. Bounded: each file is sent once. Loopback only.
URL may be several, comma-separated (gateway processes behind one load balancer): client i
sends to URL i mod n."""
import http.client, sys, threading, time, urllib.parse, json

def main():
    urls, clients, files = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3:]
    targets = [urllib.parse.urlparse(x) for x in urls]
    if any(u.hostname not in ("127.0.0.1", "localhost", "::1") for u in targets):
        sys.exit("loadgen: loopback targets only")
    # A unit submits its packages in seq order: files named <unit>-<seq>.sgp are grouped by unit,
    # each group sent in order by one client; groups are shared out over the clients.
    groups = {}
    for f in files:
        name = f.rsplit("/", 1)[-1]
        unit, _, rest = name.rpartition("-")
        seq = int(rest.split(".")[0]) if rest.split(".")[0].isdigit() else 0
        groups.setdefault(unit if unit else name, []).append((seq, f))
    queues = [[] for _ in range(clients)]
    for i, (unit, items) in enumerate(sorted(groups.items())):
        queues[i % clients].extend(open(f, "rb").read() for _, f in sorted(items))
    lat, codes, lock = [], {}, threading.Lock()
    def worker(queue, u):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        for body in queue:
            t0 = time.perf_counter()
            conn.request("POST", "/v1/packages", body=body, headers={"Content-Type": "application/vnd.sealgate.package"})
            r = conn.getresponse(); r.read()
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt); codes[r.status] = codes.get(r.status, 0) + 1
        conn.close()
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(q, targets[i % len(targets)])) for i, q in enumerate(queues)]
    for t in ts: t.start()
    for t in ts: t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(json.dumps({"packages": len(lat), "wall_s": round(wall, 3), "per_s": round(len(lat) / wall, 1),
                      "p50_ms": round(pct(0.50), 1), "p99_ms": round(pct(0.99), 1), "codes": codes}))

main()
