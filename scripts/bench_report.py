#!/usr/bin/env python3
"""Turns one `make bench` run into target-local/bench/bench.{json,md} and tables on stdout.

Standard library only, so the numbers survive a failed matplotlib install; scripts/plot_bench.py
draws the PNG from the JSON written here. Each server's files are found by name and round in
--out: wrk-<name>.r<round>.txt (with the WRK_JSON line of scripts/wrk/summary.lua),
rss-<name>.r<round>.txt, hwm-<name>.r<round>.txt and cpu-<name>.r<round>.txt, as
scripts/bench.sh writes them. A server's figures are those of its median round by req/s.
"""

import argparse
import datetime
import json
import platform
import re
import subprocess
from pathlib import Path

SERVERS = {
    "herd-dummy": "Herd, `HERD_CACHE__BACKEND=dummy`: every request queries and renders",
    "ceiling": "the year archive by hand: hyper + deadpool-postgres, same SQL, same bytes",
    "herd-two-tier": "Herd, `HERD_CACHE__BACKEND=two-tier`, warmed: in-process L1 hits",
    "hello": "hyper hello-world with a body of the page's size",
    "herd-redis": "Herd, `HERD_CACHE__BACKEND=redis`, warmed: Redis (L2) hits",
    "redis-get": "hyper + one Redis `GET` of a stored copy of the page per request",
    "herd-session": "herd-accounts (a worker like herd-dummy), every request logged in: session "
                    "from Redis, user from Postgres, a private page",
    "herd-login": "herd-accounts: `POST /accounts/login/` with the right password, one Argon2id "
                  "verify (m=19456 KiB, t=2, p=1), a new session and last_login each",
}

# Herd's side, the baseline, and the least Herd req/s ÷ baseline req/s that passes.
COMPARISONS = [
    {"comparison": "uncached page vs ceiling", "herd": "herd-dummy", "baseline": "ceiling",
     "ratio_min": 0.8},
    {"comparison": "L1 hit vs hello", "herd": "herd-two-tier", "baseline": "hello",
     "ratio_min": 0.7},
    {"comparison": "L2 hit vs redis-get", "herd": "herd-redis", "baseline": "redis-get",
     "ratio_min": 0.9},
    {"comparison": "per-site cache hit vs uncached", "herd": "herd-two-tier",
     "baseline": "herd-dummy", "ratio_min": 10.0},
    # Reported, not judged: what the session layer costs a logged-in visitor.
    {"comparison": "logged-in page vs anonymous", "herd": "herd-session",
     "baseline": "herd-dummy", "ratio_min": None},
]

# A login is a password hash: tens of milliseconds, not seconds (issue 6).
TARGETS = {"rss_mb_max": 50.0, "readyz_ms_max": 1000.0, "login_p50_ms_max": 100.0}


def wrk_summary(path):
    """The WRK_JSON line that scripts/wrk/year_archive.lua prints in done()."""
    for line in Path(path).read_text().splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise SystemExit(f"{path}: no WRK_JSON line (did wrk run the Lua script?)")


def rss_samples(path):
    """(seconds since the first sample, MB) pairs from `<ms> <kB>` lines."""
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    rows = [(int(ms), int(kb)) for ms, kb in rows]
    if not rows:
        return []
    start = rows[0][0]
    return [[round((ms - start) / 1000, 3), round(kb / 1024, 2)] for ms, kb in rows]


def server_result(out, name, rounds):
    """The figures of the server's median round by req/s, with every round's req/s beside them
    and the peak RSS over all rounds."""
    in_order = [round_result(out, f"{name}.r{k}") for k in range(1, rounds + 1)]
    runs = sorted(in_order, key=lambda run: run["req_per_s"])
    median = dict(runs[(len(runs) - 1) // 2])
    peaks = [run["peak_rss_mb"] for run in runs if run["peak_rss_mb"] is not None]
    median.update({
        "server": name,
        "description": SERVERS.get(name, ""),
        # In round order, so that a comparison can pair its two sides round by round.
        "round_req_per_s": [run["req_per_s"] for run in in_order],
        "peak_rss_mb": max(peaks) if peaks else None,
        # An error in any round counts, not only in the median one.
        "errors": sum(run["errors"] for run in runs),
    })
    return median


def round_result(out, name):
    wrk = wrk_summary(out / f"wrk-{name}.txt")
    seconds = wrk["duration_us"] / 1e6
    errors = wrk["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    hwm = (out / f"hwm-{name}.txt").read_text().strip()
    cpu = out / f"cpu-{name}.txt"
    cpu_us = None
    if cpu.exists() and wrk["requests"]:
        ticks, per_second = map(int, cpu.read_text().split())
        cpu_us = round(ticks * 1e6 / per_second / wrk["requests"], 1)
    return {
        "server": name,
        "description": SERVERS.get(name, ""),
        "requests": wrk["requests"],
        "duration_s": round(seconds, 2),
        "req_per_s": round(wrk["requests"] / seconds, 1),
        "bytes_per_response": round(wrk["bytes"] / wrk["requests"]) if wrk["requests"] else 0,
        "p50_ms": wrk["latency_us"]["p50"] / 1000,
        "p90_ms": wrk["latency_us"]["p90"] / 1000,
        "p99_ms": wrk["latency_us"]["p99"] / 1000,
        "max_ms": wrk["latency_us"]["max"] / 1000,
        "non_2xx": errors["status"],
        "socket_errors": socket_errors,
        "errors": errors["status"] + socket_errors,
        "peak_rss_mb": round(int(hwm) / 1024, 1) if hwm else None,
        "cpu_us_per_request": cpu_us,
        "rss_timeline_mb": rss_samples(out / f"rss-{name}.txt"),
    }


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    model = re.search(r"^Model name:\s*(.+)$", command("lscpu"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    return {
        "cpus": int(command("nproc").strip() or 0),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "os": command("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME").strip(),
        "wrk": command("sh", "-c", "wrk -v 2>&1 | head -n 1").strip(),
        "rustc": command("rustc", "--version").strip(),
    }


def why_not_run(name, servers, skipped):
    if name in servers:
        return None
    return skipped.get(name, "not run")


def comparisons(servers, skipped):
    """Each comparison with both sides' figures, the ratio and the verdict."""
    rows = []
    for spec in COMPARISONS:
        herd, base = servers.get(spec["herd"]), servers.get(spec["baseline"])
        missing = [f"{name}: {why}" for name in (spec["herd"], spec["baseline"])
                   if (why := why_not_run(name, servers, skipped))]
        ratio, round_ratios = None, []
        if herd and base and base["req_per_s"]:
            ratio = round(herd["req_per_s"] / base["req_per_s"], 3)
            # Shown beside the judged ratio: each round's two sides ran back to back, so these
            # show how far a slow spell of the machine moves it.
            round_ratios = [round(h / b, 3) if b else None
                            for h, b in zip(herd["round_req_per_s"], base["round_req_per_s"])]
        rows.append({
            **spec,
            "herd_result": {k: herd[k] for k in ("req_per_s", "p50_ms", "p99_ms", "errors")} if herd else None,
            "baseline_result": {k: base[k] for k in ("req_per_s", "p50_ms", "p99_ms", "errors")} if base else None,
            "ratio": ratio,
            "round_ratios": round_ratios,
            "pass": ratio is not None and (spec["ratio_min"] is None or ratio >= spec["ratio_min"]),
            "note": "; ".join(missing) or None,
        })
    return rows


def checks(servers, compared, readyz):
    rows = [
        (f"{c['comparison']}: {c['herd']}/{c['baseline']} req/s",
         f"{c['ratio']:.2f}" if c["ratio"] is not None else "not run",
         f">= {c['ratio_min']:g}", c["pass"])
        for c in compared if c["ratio_min"] is not None
    ]
    anonymous, session = servers.get("herd-dummy"), servers.get("herd-session")
    if anonymous and session and anonymous["cpu_us_per_request"] and session["cpu_us_per_request"]:
        extra = session["cpu_us_per_request"] - anonymous["cpu_us_per_request"]
        rows.append(("session layer: worker CPU per logged-in request over anonymous",
                     f"{extra:+,.0f} µs ({session['cpu_us_per_request']:,.0f} vs "
                     f"{anonymous['cpu_us_per_request']:,.0f})", "reported", True))
    login = servers.get("herd-login")
    if login:
        rows.append(("login POSTs/s (Argon2id m=19456 KiB, t=2, p=1), one per core at a time",
                     f"{login['req_per_s']:,.1f}/s, p50 {login['p50_ms']:.0f} ms", "reported", True))
        rows.append(("login POST p50 latency", f"{login['p50_ms']:.0f} ms",
                     f"<= {TARGETS['login_p50_ms_max']:.0f} ms",
                     login["p50_ms"] <= TARGETS["login_p50_ms_max"]))
    dummy = servers.get("herd-dummy")
    if dummy:
        rows.append(("herd-dummy peak RSS", f"{dummy['peak_rss_mb']:.1f} MB",
                     f"<= {TARGETS['rss_mb_max']:.0f} MB", dummy["peak_rss_mb"] <= TARGETS["rss_mb_max"]))
    if readyz:
        slowest = max(readyz, key=readyz.get)
        rows.append((f"Herd start to first /readyz 200 (slowest: {slowest})", f"{readyz[slowest]} ms",
                     f"<= {TARGETS['readyz_ms_max']:.0f} ms", readyz[slowest] <= TARGETS["readyz_ms_max"]))
    errors = sum(s["errors"] for s in servers.values())
    rows.append(("errors, every server", str(errors), "0", errors == 0))
    return [{"check": c, "value": v, "target": t, "pass": ok} for c, v, t, ok in rows]


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *map(line, rows)])


def side(result):
    if result is None:
        return ["not run", "", "", ""]
    return [f"{result['req_per_s']:,.0f}", f"{result['p50_ms']:.2f}", f"{result['p99_ms']:.2f}",
            result["errors"]]


def markdown(result):
    compared = [
        [c["comparison"], c["herd"], *side(c["herd_result"]), c["baseline"], *side(c["baseline_result"]),
         f"{c['ratio']:.2f}" if c["ratio"] is not None else "—",
         " / ".join(f"{r:.2f}" if r is not None else "—" for r in c["round_ratios"]) or "—",
         f">= {c['ratio_min']:g}" if c["ratio_min"] is not None else "—",
         ("pass" if c["pass"] else "FAIL") if c["ratio_min"] is not None else "reported"]
        for c in result["comparisons"]
    ]
    servers = [
        [s["server"], f"{s['req_per_s']:,.0f}", f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}",
         f"{s['max_ms']:.1f}", s["errors"], f"{s['bytes_per_response']:,}",
         f"{s['peak_rss_mb']:.1f}" if s["peak_rss_mb"] is not None else "?",
         f"{s['cpu_us_per_request']:,.0f}" if s["cpu_us_per_request"] is not None else "?",
         " / ".join(f"{r:,.0f}" for r in s["round_req_per_s"]), s["description"]]
        for s in result["servers"]
    ]
    checks_rows = [[c["check"], c["value"], c["target"], "pass" if c["pass"] else "FAIL"]
                   for c in result["checks"]]
    notes = [f"- **{name} was not loaded**: {why}." for name, why in result["skipped"].items()]
    m, load, page = result["machine"], result["load"], result["page"]
    return "\n".join([
        f"Run {result['started_at']} on {m['cpus']} × {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}.",
        f"Load: `{load['command']}` per server, after a {load['warmup']} warm-up, in each of "
        f"{load['rounds']} rounds (each server's median round is shown); "
        f"{result['employees']} employees; Herd's uncached page bytes identical to the ceiling's: "
        f"{'yes' if result['pages_identical'] else 'NO'}; year-archive pages {page['mean_bytes']:,} "
        f"bytes on average, hello and redis-get send {page['bytes']:,} (/employee/{page['year']}/).",
        "",
        table(compared, ["comparison", "Herd", "req/s", "p50 ms", "p99 ms", "errors",
                         "baseline", "req/s", "p50 ms", "p99 ms", "errors", "ratio",
                         "ratio by round", "target", "result"]),
        "",
        table(servers, ["server", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "bytes/resp",
                        "peak RSS MB", "CPU µs/req", "req/s by round", "what it is"]),
        "",
        table(checks_rows, ["check", "value", "target", "result"]),
        "",
        *notes,
        *([""] if notes else []),
    ])


def key_value(text):
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--server", action="append", default=[], help="a loaded server, in load order")
    parser.add_argument("--rounds", type=int, default=1, help="how many times each server was loaded")
    parser.add_argument("--skipped", action="append", default=[], type=key_value,
                        help="NAME=REASON: a server that was not loaded")
    parser.add_argument("--readyz", action="append", default=[], type=key_value,
                        help="NAME=MS: a Herd worker's start to its first /readyz 200")
    parser.add_argument("--pages-identical", required=True, choices=["yes", "no"])
    parser.add_argument("--page-bytes", required=True, type=int)
    parser.add_argument("--page-year", required=True, type=int)
    parser.add_argument("--mean-page-bytes", required=True, type=int)
    parser.add_argument("--wrk-command", required=True)
    parser.add_argument("--warmup", required=True)
    parser.add_argument("--employees", required=True, type=int)
    args = parser.parse_args()

    servers = {name: server_result(args.out, name, args.rounds) for name in args.server}
    skipped = dict(args.skipped)
    readyz = {name: int(ms) for name, ms in args.readyz}
    compared = comparisons(servers, skipped)
    checked = checks(servers, compared, readyz)
    result = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load": {"command": args.wrk_command, "warmup": args.warmup, "rounds": args.rounds,
                 "path": "/employee/<2000..2025>/ cycling per request"},
        "employees": args.employees,
        "pages_identical": args.pages_identical == "yes",
        "page": {"bytes": args.page_bytes, "year": args.page_year, "mean_bytes": args.mean_page_bytes},
        "readyz_ms": readyz,
        "targets": {**TARGETS, "ratio_min": {c["comparison"]: c["ratio_min"] for c in COMPARISONS}},
        "servers": list(servers.values()),
        "skipped": skipped,
        "comparisons": compared,
        "checks": checked,
        "pass": all(c["pass"] for c in checked),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.out / "bench.md").write_text(md)
    print(md)
    ratios = ", ".join(f"{c['herd']}/{c['baseline']} "
                       + (f"{c['ratio']:.2f}" if c["ratio"] is not None else "not run")
                       for c in compared)
    print(f"{ratios}; overall: {'PASS' if result['pass'] else 'FAIL'}")


if __name__ == "__main__":
    main()
