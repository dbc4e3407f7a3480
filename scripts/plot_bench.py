#!/usr/bin/env python3
"""Draws target-local/bench/bench.png from bench.json: throughput, latency and RSS over time.

Needs matplotlib; scripts/bench.sh runs it from the .venv-bench virtualenv it creates.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

COLOURS = {"herd": "#2f6f4f", "ceiling": "#8c8c8c"}


def main():
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "target-local/bench/bench.json")
    target = source.with_suffix(".png")
    result = json.loads(source.read_text())
    servers = result["servers"]
    names = [s["server"] for s in servers]
    colours = [COLOURS.get(n, "#4c72b0") for n in names]

    fig, (throughput, latency, rss) = plt.subplots(1, 3, figsize=(15, 4.6))
    fig.suptitle(
        f"Year archive, {result['load']['command']}: Herd/ceiling = {result['ratio']:.2f} "
        f"({'pass' if result['pass'] else 'FAIL'})",
        fontsize=11,
    )

    bars = throughput.bar(names, [s["req_per_s"] for s in servers], color=colours)
    throughput.bar_label(bars, fmt="{:,.0f}")
    throughput.set_title("Throughput")
    throughput.set_ylabel("requests / s")

    width = 0.38
    xs = range(len(servers))
    for offset, key, label, alpha in ((-width / 2, "p50_ms", "p50", 0.6), (width / 2, "p99_ms", "p99", 1.0)):
        bars = latency.bar([x + offset for x in xs], [s[key] for s in servers], width,
                           color=colours, alpha=alpha, label=label)
        latency.bar_label(bars, fmt="{:.2f}")
    latency.set_xticks(list(xs), names)
    latency.set_title("Latency (p50 light, p99 dark)")
    latency.set_ylabel("ms")

    for s, colour in zip(servers, colours):
        timeline = s["rss_timeline_mb"]
        if timeline:
            rss.plot([t for t, _ in timeline], [mb for _, mb in timeline], color=colour,
                     label=f"{s['server']} (peak {s['peak_rss_mb']:.1f} MB)")
    rss.axhline(result["targets"]["rss_mb_max"], color="#b22222", linestyle="--", linewidth=1,
                label=f"target {result['targets']['rss_mb_max']:.0f} MB")
    rss.set_ylim(bottom=0)
    rss.set_title("RSS during the load")
    rss.set_xlabel("s")
    rss.set_ylabel("MB")
    rss.legend(fontsize=8)

    machine = result["machine"]
    fig.text(0.01, 0.01, f"{result['started_at']} · {machine['cpus']} × {machine['cpu_model']} · "
             f"Linux {machine['kernel']} · readyz {result['readyz_ms']} ms", fontsize=8, color="#555")
    fig.tight_layout(rect=(0, 0.04, 1, 0.94))
    fig.savefig(target, dpi=110)
    print(f"plot: {target}")


if __name__ == "__main__":
    main()
