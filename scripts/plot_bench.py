#!/usr/bin/env python3
"""Draws target-local/bench/bench.png from bench.json: throughput, latency, each comparison's
ratio against its target, and RSS over time.

Needs matplotlib; scripts/bench.sh runs it from the .venv-bench virtualenv it creates.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

# Herd's workers in greens, the baselines in greys.
COLOURS = {
    "herd-dummy": "#2f6f4f",
    "herd-two-tier": "#4f9f6f",
    "herd-redis": "#8fc79f",
    "ceiling": "#6c6c6c",
    "hello": "#9c9c9c",
    "redis-get": "#c4c4c4",
}
PASS, FAIL = "#2f6f4f", "#b22222"


def main():
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "target-local/bench/bench.json")
    target = source.with_suffix(".png")
    result = json.loads(source.read_text())
    servers = result["servers"]
    names = [s["server"] for s in servers]
    colours = [COLOURS.get(n, "#4c72b0") for n in names]

    fig, ((throughput, latency), (ratios, rss)) = plt.subplots(2, 2, figsize=(15, 9.5))
    fig.suptitle(
        f"Year archive, {result['load']['command']}, {result['page']['bytes']:,}-byte pages "
        f"({'pass' if result['pass'] else 'FAIL'})",
        fontsize=11,
    )

    bars = throughput.bar(names, [s["req_per_s"] for s in servers], color=colours)
    throughput.bar_label(bars, fmt="{:,.0f}", fontsize=8)
    throughput.set_yscale("log")
    throughput.set_title("Throughput (log scale)")
    throughput.set_ylabel("requests / s")
    throughput.tick_params(axis="x", labelsize=8)

    width = 0.38
    xs = range(len(servers))
    for offset, key, label, alpha in ((-width / 2, "p50_ms", "p50", 0.55), (width / 2, "p99_ms", "p99", 1.0)):
        bars = latency.bar([x + offset for x in xs], [max(s[key], 0.001) for s in servers], width,
                           color=colours, alpha=alpha, label=label)
        latency.bar_label(bars, fmt="{:.2f}", fontsize=7)
    latency.set_xticks(list(xs), names, fontsize=8)
    latency.set_yscale("log")
    latency.set_title("Latency, log scale (p50 light, p99 dark)")
    latency.set_ylabel("ms")

    compared = result["comparisons"]
    labels = [f"{c['herd']} / {c['baseline']}" for c in compared]
    ys = range(len(compared))
    values = [c["ratio"] if c["ratio"] is not None else 0 for c in compared]
    bars = ratios.barh(list(ys), values, color=[PASS if c["pass"] else FAIL for c in compared], height=0.5)
    ratios.bar_label(bars, labels=[f"{c['ratio']:.2f}" if c["ratio"] is not None else "not run"
                                   for c in compared], padding=3, fontsize=8)
    for y, c in zip(ys, compared):
        if c["ratio_min"] is None:
            continue
        ratios.plot([c["ratio_min"]] * 2, [y - 0.35, y + 0.35], color="black", linewidth=2)
        ratios.annotate(f"target ≥ {c['ratio_min']:g}", (c["ratio_min"], y + 0.3), fontsize=7,
                        xytext=(3, 0), textcoords="offset points")
    ratios.set_yticks(list(ys), labels, fontsize=8)
    ratios.invert_yaxis()
    ratios.set_xscale("log")
    ratios.set_xlim(0.1, max(20, *(v * 2 for v in values)))
    ratios.set_title("Herd req/s ÷ baseline req/s (black: target)")

    for s, colour in zip(servers, colours):
        timeline = s["rss_timeline_mb"]
        if timeline:
            peak = f"{s['peak_rss_mb']:.1f}" if s["peak_rss_mb"] is not None else "?"
            rss.plot([t for t, _ in timeline], [mb for _, mb in timeline], color=colour,
                     label=f"{s['server']} (peak {peak} MB)")
    rss.axhline(result["targets"]["rss_mb_max"], color=FAIL, linestyle="--", linewidth=1,
                label=f"target {result['targets']['rss_mb_max']:.0f} MB (herd-dummy)")
    rss.set_ylim(bottom=0)
    rss.set_title("RSS during each server's load")
    rss.set_xlabel("s")
    rss.set_ylabel("MB")
    rss.legend(fontsize=7)

    machine = result["machine"]
    skipped = "; ".join(f"{name} not loaded: {why}" for name, why in result["skipped"].items())
    fig.text(0.01, 0.01, f"{result['started_at']} · {machine['cpus']} × {machine['cpu_model']} · "
             f"Linux {machine['kernel']}" + (f" · {skipped}" if skipped else ""), fontsize=8, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    fig.savefig(target, dpi=110)
    print(f"plot: {target}")


if __name__ == "__main__":
    main()
