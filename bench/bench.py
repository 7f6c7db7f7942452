#!/usr/bin/env python3
"""Corridor against its floor, side by side in one run, on SQLite and
PostgreSQL; writes BENCHMARKS.md. Run through bench/run, which builds both
servers and installs wrk. Python's standard library only."""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHELTERS = 20
PLACED = 4000
WITH_PERSONAL = 200
PASSWORD_FILE = "first-admin-password"

# PRODUCT.md's targets: (label, kind, value). "ratio" is Corridor / floor.
TARGETS = {
    "get": ("≥ 0.80 × floor read", 0.80),
    "list": ("≥ 0.50 × floor read", 0.50),
    "transition": ("≥ 0.85 × floor insert", 0.85),
}


SPAWNED = []


def kill_spawned():
    """Whatever happens, no server outlives the run."""
    for proc in SPAWNED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Client:
    """Keep-alive JSON client for the setup (not for measuring)."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        data = None if body is None else json.dumps(body)
        for attempt in range(3):
            try:
                self.conn.request(method, path, data, h)
                r = self.conn.getresponse()
                text = r.read()
                return r.status, (json.loads(text) if text else None)
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")


def in_parallel(items, work, threads=4):
    """Runs work(client_index, item) over items in a few threads."""
    chunks = [items[i::threads] for i in range(threads)]
    errors = []

    def run(i):
        try:
            for item in chunks[i]:
                work(i, item)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


class Backend:
    def __init__(self, name, work, pg_admin_url):
        self.name = name
        self.work = work
        self.data_dir = os.path.join(work, "data-" + name)
        self.pg_admin_url = pg_admin_url

    def fresh(self, label):
        """A new, empty database; its URL."""
        if self.name == "sqlite":
            path = os.path.join(self.work, f"{label}.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            return "sqlite://" + path
        db = "corridor_bench_" + label
        psql(self.pg_admin_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        psql(self.pg_admin_url, f"CREATE DATABASE {db}")
        base = self.pg_admin_url.split("?")[0].rsplit("/", 1)[0]
        return f"{base}/{db}?sslmode=disable"

    def drop(self, url):
        if self.name == "postgres":
            db = url.split("?")[0].rsplit("/", 1)[1]
            psql(self.pg_admin_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def psql(url, sql):
    subprocess.run(["psql", "-q", "-d", url, "-c", sql], check=True, stdout=subprocess.DEVNULL)


class Corridor:
    def __init__(self, binary, url, data_dir, extra_env=None):
        self.binary, self.url, self.data_dir = binary, url, data_dir
        self.env = dict(os.environ)
        self.env.update(
            {
                "CORRIDOR_DATABASE_URL": url,
                "CORRIDOR_SERVER_DATA_DIR": data_dir,
                "CORRIDOR_PARTNER_RATE_LIMIT_PER_MINUTE": "100000000",
                "RUST_LOG": os.environ.get("BENCH_RUST_LOG", "warn"),
            }
        )
        self.env.update(extra_env or {})
        self.proc = None
        self.port = None

    def run(self, *args):
        out = subprocess.run(
            [self.binary, *args], env=self.env, check=True, capture_output=True, text=True
        )
        return out.stdout + out.stderr

    def start(self):
        """Starts `corridor serve`; seconds from spawn to the first 200 of /readyz."""
        self.port = free_port()
        env = dict(self.env, CORRIDOR_BIND=f"127.0.0.1:{self.port}")
        self.log = open(os.path.join(self.data_dir, "..", f"serve-{self.port}.log"), "w")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.binary, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        SPAWNED.append(self.proc)
        ready = wait_ready(self.port, "/readyz", self.proc)
        return ready - started

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.proc = None
            self.log.close()


def wait_ready(port, path, proc):
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError("server not ready within 60 s")


class Floor:
    def __init__(self, binary, url):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, url, f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        SPAWNED.append(self.proc)
        probe = "/read/none"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", probe)
                c.getresponse().read()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("the floor did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def cpu_seconds(pid):
    """User and system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


LUA_COMMON = """
local ids = {%s}
local n = #ids
"""


def lua_file(work, name, body):
    path = os.path.join(work, name + ".lua")
    with open(path, "w") as f:
        f.write(body)
    return path


WRK_DONE = """
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
            + summary.errors.write + summary.errors.timeout
  io.write(string.format("BENCH %.2f %.3f %.3f %d %d\\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, summary.requests))
end
"""


def wrk(port, script, seconds, connections, threads=2):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script,
            f"http://127.0.0.1:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    m = re.search(r"BENCH ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", out)
    if not m:
        raise RuntimeError("wrk gave no summary:\n" + out)
    rate, p50, p99, bad, total = m.groups()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "rate": float(rate),
        "p50": float(p50),
        "p99": float(p99),
        "errors": int(bad),
        "requests": int(total),
        # wrk's own CPU a request: it shares the machine's cores.
        "client_cpu_us": client * 1e6 / max(1, int(total)),
    }


def seed_placed(port, token):
    """20 shelters and PLACED cases in their safe houses, case i at shelter i % 20."""
    c = Client(port, token)
    shelters = []
    for i in range(SHELTERS):
        status, body = c.call(
            "POST", "/api/v1/shelters", {"name": f"Bench house {i}", "country": "DE", "capacity": 1000}
        )
        assert status == 201, (status, body)
        shelters.append(body["id"])
    ids = [None] * PLACED
    clients = [Client(port, token) for _ in range(4)]

    def make(k, i):
        status, body = clients[k].call("POST", "/api/v1/cases", {})
        assert status == 201, (status, body)
        case = body["id"]
        status, body = clients[k].call(
            "POST",
            f"/api/v1/cases/{case}/transitions",
            {"to": "safe_house", "shelter_id": shelters[i % SHELTERS]},
        )
        assert status == 200, (status, body)
        if i < WITH_PERSONAL:
            status, body = clients[k].call(
                "PUT", f"/api/v1/cases/{case}/personal", {"alias": f"Bench-{i:04d}"}
            )
            assert status == 200, (status, body)
        ids[i] = case

    in_parallel(list(range(PLACED)), make)
    return shelters, ids


def quoted(items):
    return ",".join(f'"{x}"' for x in items)


def measure_backend(backend, args, corridor_bin, floor_bin, report):
    log(f"== {backend.name}: serving")
    url = backend.fresh("api")
    os.makedirs(backend.data_dir, exist_ok=True)
    server = Corridor(corridor_bin, url, backend.data_dir)
    server.run("migrate")
    server.start()  # the first start creates the admin
    with open(os.path.join(backend.data_dir, PASSWORD_FILE)) as f:
        password = re.search(r"password: (\S+)", f.read()).group(1)
    os.remove(os.path.join(backend.data_dir, PASSWORD_FILE))
    server.stop()
    starts = []
    for _ in range(3):
        starts.append(server.start())
        server.stop()
    report["start_ms"] = statistics.median(starts) * 1000
    server.start()
    c = Client(server.port)
    status, body = c.call(
        "POST", "/api/v1/auth/login", {"email": "admin@corridor.local", "password": password}
    )
    assert status == 200, (status, body)
    token = body["access_token"]
    log("   seeding", PLACED, "placed cases")
    shelters, ids = seed_placed(server.port, token)
    floor = Floor(floor_bin, url)
    secs, conns = args.seconds, args.connections
    work = backend.work
    ids_lua = LUA_COMMON % quoted(ids)
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    def mover(before, after):
        # Each wrk thread moves its own share of the cases, each case on to
        # the next of the 20 shelters: no row is hot, no move is refused.
        return (
            ids_lua
            + "local shelters = {%s}\n" % quoted(shelters)
            + "WRK_THREADS = 2\n"
            + auth
            + """wrk.headers["Content-Type"] = "application/json"
local created = 0
function setup(thread)
  thread:set("me", created)
  thread:set("total", WRK_THREADS)
  created = created + 1
end
function init(args)
  step = 0
  at = {}
end
request = function()
  local k = me + 1 + (step % math.floor(n / total)) * total
  step = step + 1
  if k > n then k = me + 1 end
  local now = at[k] or ((k - 1) % 20)
  local next = (now + 1) % 20
  at[k] = next
  local body = '{"to": "safe_house", "shelter_id": "' .. shelters[next + 1] .. '"}'
  return wrk.format("POST", "BEFORE" .. ids[k] .. "AFTER", nil, body)
end
""".replace("BEFORE", before).replace("AFTER", after)
            + WRK_DONE
        )

    scripts = {
        "floor_read": lua_file(
            work, "floor_read", ids_lua + 'request = function() return wrk.format("GET", "/read/" .. ids[math.random(n)]) end\n' + WRK_DONE
        ),
        "get": lua_file(
            work, "get", ids_lua + auth + 'request = function() return wrk.format("GET", "/api/v1/cases/" .. ids[math.random(n)]) end\n' + WRK_DONE
        ),
        "list": lua_file(
            work, "list", auth + 'request = function() return wrk.format("GET", "/api/v1/cases?limit=50") end\n' + WRK_DONE
        ),
        "personal": lua_file(
            work,
            "personal",
            LUA_COMMON % quoted(ids[:WITH_PERSONAL]) + auth
            + 'request = function() return wrk.format("GET", "/api/v1/cases/" .. ids[math.random(n)] .. "/personal") end\n' + WRK_DONE,
        ),
        "floor_insert": lua_file(
            work, "floor_insert", 'request = function() return wrk.format("POST", "/insert") end\n' + WRK_DONE
        ),
        "floor_list": lua_file(
            work, "floor_list", 'request = function() return wrk.format("GET", "/list") end\n' + WRK_DONE
        ),
        "transition": lua_file(work, "transition", mover("/api/v1/cases/", "/transitions")),
        "floor_move": lua_file(work, "floor_move", mover("/move/", "")),
    }
    results = {}
    reads = [
        ("floor_read", floor.port),
        ("get", server.port),
        ("floor_list", floor.port),
        ("list", server.port),
        ("personal", server.port),
        ("get_warm", server.port),
    ]
    writes = [
        ("floor_insert", floor.port),
        ("transition", server.port),
        # After Corridor's: the floor does not mind a case already at the
        # shelter it is sent to, Corridor refuses it.
        ("floor_move", floor.port),
    ]
    # The reads run in rounds, each load beside its floor within a round,
    # so a figure is the median of several and a ratio the median of the
    # rounds' own (this machine's speed drifts between minutes). The
    # writes move cases on from where the last run left them: once.
    rounds = {}
    for name, port in reads * args.rounds + writes:
        if args.only and name not in args.only:
            continue
        script = scripts["get" if name == "get_warm" else name]
        log(f"   wrk {name}")
        profiler = None
        serving = floor.proc.pid if port == floor.port else server.proc.pid
        if name in args.perf and name not in rounds:
            # A profile of the server under this load (Corridor, or the
            # floor for floor_*), for `perf report -i`.
            out = os.path.join(ROOT, "target", f"perf-{backend.name}-{name}.data")
            profiler = subprocess.Popen(
                ["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384",
                 "-p", str(serving), "-o", out, "--", "sleep", str(max(1, secs - 2))],
                stdout=subprocess.DEVNULL,
            )
        cpu = cpu_seconds(serving)
        result = wrk(port, script, secs, conns)
        # The server's CPU per request: steadier than the rate on a noisy machine.
        used = cpu_seconds(serving) - cpu
        result["cpu_us"] = used * 1e6 / max(1, result["requests"])
        if profiler:
            profiler.wait()
        rounds.setdefault(name, []).append(result)
        log("     ", result)
    for name, runs in rounds.items():
        results[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        results[name]["errors"] = sum(r["errors"] for r in runs)
        results[name]["requests"] = sum(r["requests"] for r in runs)
        results[name]["rounds"] = runs
    if not args.only:
        # Memory under 256 connections, after the write load.
        log("   rss at 256 connections")
        holder = threading.Thread(
            target=lambda: results.__setitem__("rss_load", wrk(server.port, scripts["get"], 6, 256))
        )
        holder.start()
        time.sleep(4)
        report["rss_mib"] = rss_mib(server.proc.pid)
        report["floor_rss_mib"] = rss_mib(floor.proc.pid)
        if args.smaps:
            # Where the resident memory sits, for reading by hand.
            for who, proc in (("corridor", server.proc), ("floor", floor.proc)):
                shutil.copyfile(f"/proc/{proc.pid}/smaps", os.path.join(args.smaps, f"{backend.name}-{who}.smaps"))
        holder.join()
    floor.stop()
    server.stop()
    backend.drop(url)
    report["results"] = results
    if args.only:
        return
    # The stall scan, by database size.
    report["scan"] = []
    for n in args.scan_sizes:
        log(f"   scan at {n} cases: seeding")
        url = backend.fresh(f"scan{n}")
        cli = Corridor(corridor_bin, url, backend.data_dir, {"RUST_LOG": "warn"})
        cli.run("migrate")
        t0 = time.time()
        cli.run("demo", "--cases", str(n), "--seed", "13")
        seeded = time.time() - t0
        first = cli.run("stalls", "scan")
        runs = [scan_ms(cli.run("stalls", "scan")) for _ in range(5)]
        report["scan"].append(
            {
                "cases": n,
                "seed_s": seeded,
                "first_ms": scan_ms(first),
                "first_raised": int(re.search(r"(\d+) alert\(s\) raised", first).group(1)),
                "first_escalated": int(re.search(r"(\d+) escalated", first).group(1)),
                "ms": statistics.median(runs),
            }
        )
        log("     ", report["scan"][-1])
        backend.drop(url)


def scan_ms(out):
    return float(re.search(r"the scan took ([\d.]+) ms", out).group(1))


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, {platform.platform()}"


def write_markdown(path, reports, args, commit):
    today = datetime.date.today().isoformat()
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run` (do not edit by hand). Corridor against the floor — a bare",
        "actix-web + r2d2 + diesel server (`bench/floor/`) doing the same database work — in",
        "one run, on the same machine and database. Targets from PRODUCT.md. The server's",
        "CPU a request (user + system time over the load, from /proc) is steadier than the rates",
        "on a shared machine: compare it across runs, the ratios within one.",
        "",
        f"- date: {today}; commit: {commit}",
        f"- machine: {machine()}",
        f"- load: wrk, {args.connections} connections, 2 threads, {args.seconds} s a run; the reads in "
        f"{args.rounds} rounds (a figure is the median of its runs, a ratio the median of the rounds' "
        "own ratios, each round's in brackets), the writes once; "
        f"{PLACED} cases placed in {SHELTERS} shelters; Corridor logs at `{os.environ.get('BENCH_RUST_LOG', 'warn')}` (BENCH_RUST_LOG=info adds the request lines)",
        "",
    ]
    for name, rep in reports.items():
        r = rep["results"]

        def row(label, key, base_key, base_label, target=None):
            x, b = r[key], r[base_key]
            # The median of each round's own ratio, and the rounds' ratios.
            pairs = list(zip(x["rounds"], b["rounds"]))
            each = [a["rate"] / c["rate"] for a, c in pairs]
            ratio = statistics.median(each)
            spread = f" ({', '.join(f'{e:.2f}' for e in each)})" if len(each) > 1 else ""
            mark = ""
            if target:
                mark = f"{TARGETS[target][0]} {'✓' if ratio >= TARGETS[target][1] else '✗'}"
            return (
                f"| {label} | {x['rate']:,.0f}/s | {b['rate']:,.0f}/s ({base_label}) | {ratio:.2f}{spread} | "
                f"{x['p50']:.1f} / {x['p99']:.1f} ms | {x['cpu_us']:.0f} / {b['cpu_us']:.0f} µs | "
                f"{x['errors']} | {mark} |"
            )

        lines += [
            f"## {'SQLite' if name == 'sqlite' else 'PostgreSQL'}",
            "",
            "| work | Corridor | floor | ratio | p50 / p99 | server CPU a request (Corridor / floor) | errors | target |",
            "|---|---|---|---|---|---|---|---|",
            row("authenticated GET /cases/{id}", "get", "floor_read", "read by key", "get"),
            row("the same, warm", "get_warm", "floor_read", "read by key", "get"),
            row("GET /cases?limit=50", "list", "floor_read", "read by key", "list"),
            row("the same, against the floor's own page of 50", "list", "floor_list", "page of 50"),
            row("GET /cases/{id}/personal (audited read)", "personal", "get", "GET case"),
            row("transition (shelter to shelter)", "transition", "floor_insert", "single-row insert", "transition"),
            row("the same, against the floor doing its statements", "transition", "floor_move", "same statements"),
        ]
        p99 = r["transition"]["p99"]
        lines += [
            "",
            f"- p99 of a transition under load: {p99:.1f} ms (target < 20 ms "
            f"{'✓' if p99 < 20 else '✗'})",
            # What the bare stack reaches doing the same work, beside the
            # targets that set these loads against its single-row work.
            f"- the floor doing the same work: its page of 50 at "
            f"{r['floor_list']['rate'] / r['floor_read']['rate']:.2f} of its read (list target ≥ 0.50), "
            f"its transition statements at {r['floor_move']['rate'] / r['floor_insert']['rate']:.2f} "
            f"of its insert (target ≥ 0.85), at a p99 of {r['floor_move']['p99']:.1f} ms (target < 20 ms)",
            f"- RSS at 256 connections, after the write load: {rep['rss_mib']:.0f} MiB "
            f"(target ≤ 64 MiB {'✓' if rep['rss_mib'] <= 64 else '✗'}; the floor: {rep['floor_rss_mib']:.0f} MiB)",
            f"- start to ready (`serve` spawned → first 200 of /readyz), median of 3: "
            f"{rep['start_ms']:.0f} ms (target < 200 ms {'✓' if rep['start_ms'] < 200 else '✗'})",
            "",
        ]
        if rep["scan"]:
            lines += [
                "| stall scan | seeded in | first scan after seeding (what is due) | next scan (median of 5) |",
                "|---|---|---|---|",
            ]
            for s in rep["scan"]:
                lines.append(
                    f"| {s['cases']:,} cases | {s['seed_s']:.0f} s | {s['first_ms']:.1f} ms, "
                    f"{s['first_raised']:,} raised, {s['first_escalated']:,} escalated | {s['ms']:.2f} ms |"
                )
            small, big = rep["scan"][0], rep["scan"][-1]
            ratio = big["ms"] / max(small["ms"], 0.001)
            lines += [
                "",
                f"- scan({big['cases']:,}) / scan({small['cases']:,}) = {ratio:.2f} (target < 2 "
                f"{'✓' if ratio < 2 else '✗'}); scan({big['cases']:,}) = {big['ms']:.1f} ms "
                f"(target < 50 ms {'✓' if big['ms'] < 50 else '✗'}). A scan reads only cases past a deadline "
                "they were not alerted for (index on `scan_at`) and alerts not yet escalated (a partial index).",
                "",
            ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--corridor", required=True)
    p.add_argument("--floor", required=True)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="rounds of the read loads (the writes run once)")
    p.add_argument("--scan-sizes", default="10000,100000,1000000")
    p.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    p.add_argument(
        "--pg",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    p.add_argument(
        "--only",
        default="",
        help="comma list of loads to run alone (floor_read,get,floor_list,list,personal,get_warm,"
        "floor_insert,transition,floor_move); prints the figures, writes no BENCHMARKS.md",
    )
    p.add_argument(
        "--render",
        default="",
        help="write --out from a run's saved figures (corridor-bench-last.json) instead of measuring",
    )
    p.add_argument("--smaps", default="", help="a directory to copy both servers' /proc/PID/smaps into at the RSS measure")
    p.add_argument("--perf", default="", help="comma list of loads to profile the server under (perf record)")
    args = p.parse_args()
    args.only = [x for x in args.only.split(",") if x]
    args.perf = [x for x in args.perf.split(",") if x]
    args.scan_sizes = [int(x) for x in args.scan_sizes.split(",") if x]
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        write_markdown(args.out, saved["reports"], args, saved["commit"])
        log("wrote", args.out)
        return
    work = tempfile.mkdtemp(prefix="corridor-bench-")
    commit = subprocess.run(
        ["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"], capture_output=True, text=True
    ).stdout.strip() or "unknown"
    reports = {}
    try:
        for name in args.backends.split(","):
            backend = Backend(name, work, args.pg)
            reports[name] = {}
            measure_backend(backend, args, args.corridor, args.floor, reports[name])
        if args.only:
            for name, report in reports.items():
                for load, r in report["results"].items():
                    if load == "rss_load":
                        continue
                    print(f"{name:9} {load:13} {r['rate']:9.0f}/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  errors {r['errors']}  cpu {r.get('cpu_us', 0):6.0f} µs/req  wrk {r.get('client_cpu_us', 0):4.0f} µs/req")
                got = report["results"]
                for load, base in [("get", "floor_read"), ("list", "floor_read"), ("list", "floor_list"),
                                   ("transition", "floor_insert"), ("transition", "floor_move")]:
                    if load in got and base in got:
                        each = [a["rate"] / b["rate"] for a, b in zip(got[load]["rounds"], got[base]["rounds"])]
                        print(f"{name:9} {load} / {base}: {statistics.median(each):.2f} "
                              f"({', '.join(f'{e:.2f}' for e in each)})")
            return
        write_markdown(args.out, reports, args, commit)
        with open(os.path.join(work, "..", "corridor-bench-last.json"), "w") as f:
            json.dump({"commit": commit, "reports": reports}, f, indent=1)
        log("wrote", args.out)
    finally:
        kill_spawned()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
