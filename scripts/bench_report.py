#!/usr/bin/env python3
"""Turns one `make bench` run into target-local/bench/bench.{json,md} and a table on stdout.

Standard library only, so the numbers survive a failed matplotlib install; scripts/plot_bench.py
draws the PNG from the JSON written here.
"""

import argparse
import datetime
import json
import platform
import re
import subprocess
from pathlib import Path

TARGETS = {"ratio_min": 0.8, "rss_mb_max": 50.0, "readyz_ms_max": 1000.0}


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


def server_result(name, wrk_path, rss_path, hwm_kb):
    wrk = wrk_summary(wrk_path)
    seconds = wrk["duration_us"] / 1e6
    errors = wrk["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    return {
        "server": name,
        "requests": wrk["requests"],
        "duration_s": round(seconds, 2),
        "req_per_s": round(wrk["requests"] / seconds, 1),
        "p50_ms": wrk["latency_us"]["p50"] / 1000,
        "p90_ms": wrk["latency_us"]["p90"] / 1000,
        "p99_ms": wrk["latency_us"]["p99"] / 1000,
        "max_ms": wrk["latency_us"]["max"] / 1000,
        "non_2xx": errors["status"],
        "socket_errors": socket_errors,
        "errors": errors["status"] + socket_errors,
        "peak_rss_mb": round(hwm_kb / 1024, 1),
        "rss_timeline_mb": rss_samples(rss_path),
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


def verdicts(herd, ceiling, readyz_ms):
    ratio = herd["req_per_s"] / ceiling["req_per_s"] if ceiling["req_per_s"] else 0.0
    checks = [
        ("Herd/ceiling req/s", f"{ratio:.2f}", f">= {TARGETS['ratio_min']}", ratio >= TARGETS["ratio_min"]),
        ("Herd peak RSS", f"{herd['peak_rss_mb']:.1f} MB", f"<= {TARGETS['rss_mb_max']:.0f} MB",
         herd["peak_rss_mb"] <= TARGETS["rss_mb_max"]),
        ("Herd start to first /readyz 200", f"{readyz_ms} ms", f"<= {TARGETS['readyz_ms_max']:.0f} ms",
         readyz_ms <= TARGETS["readyz_ms_max"]),
        ("Herd and ceiling errors", str(herd["errors"] + ceiling["errors"]), "0",
         herd["errors"] + ceiling["errors"] == 0),
    ]
    return round(ratio, 3), [
        {"check": c, "value": v, "target": t, "pass": ok} for c, v, t, ok in checks
    ]


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *map(line, rows)])


def markdown(result):
    servers = [
        [s["server"], f"{s['req_per_s']:,.0f}", f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}",
         s["errors"], f"{s['peak_rss_mb']:.1f}"]
        for s in result["servers"]
    ]
    checks = [[c["check"], c["value"], c["target"], "pass" if c["pass"] else "FAIL"]
              for c in result["checks"]]
    m, load = result["machine"], result["load"]
    return "\n".join([
        f"Run {result['started_at']} on {m['cpus']} × {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}.",
        f"Load: `{load['command']}` per server, after a {load['warmup']} warm-up; "
        f"{result['employees']} employees; Herd with `HERD_CACHE__BACKEND=dummy`; "
        f"page bytes identical to the ceiling's: {'yes' if result['pages_identical'] else 'NO'}.",
        "",
        table(servers, ["server", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS MB"]),
        "",
        table(checks, ["check", "value", "target", "result"]),
        "",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path)
    for name in ("herd", "ceiling"):
        parser.add_argument(f"--{name}-wrk", required=True)
        parser.add_argument(f"--{name}-rss", required=True)
        parser.add_argument(f"--{name}-hwm-kb", required=True, type=int)
    parser.add_argument("--readyz-ms", required=True, type=int)
    parser.add_argument("--pages-identical", required=True, choices=["yes", "no"])
    parser.add_argument("--wrk-command", required=True)
    parser.add_argument("--warmup", required=True)
    parser.add_argument("--employees", required=True, type=int)
    args = parser.parse_args()

    herd = server_result("herd", args.herd_wrk, args.herd_rss, args.herd_hwm_kb)
    ceiling = server_result("ceiling", args.ceiling_wrk, args.ceiling_rss, args.ceiling_hwm_kb)
    ratio, checks = verdicts(herd, ceiling, args.readyz_ms)
    result = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load": {"command": args.wrk_command, "warmup": args.warmup,
                 "path": "/employee/<2000..2025>/ cycling per request"},
        "employees": args.employees,
        "pages_identical": args.pages_identical == "yes",
        "readyz_ms": args.readyz_ms,
        "ratio": ratio,
        "targets": TARGETS,
        "servers": [herd, ceiling],
        "checks": checks,
        "pass": all(c["pass"] for c in checks),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.out / "bench.md").write_text(md)
    print(md)
    print(f"Herd/ceiling ratio {ratio:.2f}; overall: {'PASS' if result['pass'] else 'FAIL'}")


if __name__ == "__main__":
    main()
