#!/usr/bin/env python3
"""Instructions a request, Corridor's authenticated GET /cases/{id} against
the floor's read by key, on SQLite, under valgrind's callgrind.

Rates on a shared machine drift from minute to minute; instruction counts
barely do (the same binaries count within 1% on a quiet machine, a few
per cent on a busy one). Use this to
tell whether a change to the request path did what it meant to, and
bench/run for what the machine makes of it.

usage: bench/instructions.py CORRIDOR FLOOR [--requests 1000]

Seeds 200 placed cases through the API, then starts each server under
callgrind with instrumentation off, warms it with 300 requests on one
keep-alive connection, counts the next N, and prints instructions a
request (user space only: the kernel's share is not counted).
"""

import argparse
import glob
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

WARM = 300


def counted(cmd, port, paths, headers, env, out, requests):
    """Instructions a request of `cmd` serving `paths` on `port`."""
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--instr-atstart=no", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bench.SPAWNED.append(proc)
    deadline = time.time() + 120
    conn = None
    while conn is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", paths[0], headers=headers)
            conn.getresponse().read()
        except OSError:
            conn = None
            if time.time() > deadline:
                raise RuntimeError("the server did not start under valgrind")
            time.sleep(0.2)

    def get(i):
        conn.request("GET", paths[(i * 7) % len(paths)], headers=headers)
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            raise RuntimeError(f"GET answered {res.status}")

    for i in range(WARM):
        get(i)
    subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for i in range(requests):
        get(i)
    subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    total = 0
    for path in glob.glob(out + "*"):
        with open(path) as f:
            for line in f:
                if line.startswith("totals:"):
                    total += int(line.split()[1])
    return total / requests


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corridor")
    p.add_argument("floor")
    p.add_argument("--requests", type=int, default=1000)
    args = p.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind (Debian: valgrind)")
    bench.PLACED = 200
    work = tempfile.mkdtemp(prefix="corridor-instructions-")
    try:
        backend = bench.Backend("sqlite", work, None)
        url = backend.fresh("api")
        os.makedirs(backend.data_dir, exist_ok=True)
        server = bench.Corridor(args.corridor, url, backend.data_dir)
        server.run("migrate")
        server.start()
        with open(os.path.join(backend.data_dir, bench.PASSWORD_FILE)) as f:
            password = re.search(r"password: (\S+)", f.read()).group(1)
        status, body = bench.Client(server.port).call(
            "POST", "/api/v1/auth/login", {"email": "admin@corridor.local", "password": password}
        )
        assert status == 200, (status, body)
        token = body["access_token"]
        _, ids = bench.seed_placed(server.port, token)
        server.stop()

        port = bench.free_port()
        corridor = counted(
            [args.corridor, "serve"],
            port,
            [f"/api/v1/cases/{i}" for i in ids],
            {"Authorization": "Bearer " + token},
            dict(server.env, CORRIDOR_BIND=f"127.0.0.1:{port}"),
            os.path.join(work, "corridor.out"),
            args.requests,
        )
        port = bench.free_port()
        floor = counted(
            [args.floor, url, f"127.0.0.1:{port}"],
            port,
            [f"/read/{i}" for i in ids],
            {},
            None,
            os.path.join(work, "floor.out"),
            args.requests,
        )
        print(f"instructions a request: Corridor GET case {corridor:,.0f}, floor read {floor:,.0f}, "
              f"ratio {floor / corridor:.2f}")
    finally:
        bench.kill_spawned()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
