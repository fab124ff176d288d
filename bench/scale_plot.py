#!/usr/bin/python3
"""The growth curve's table, extrapolation and plot (bench/scale.sh).

Usage: scale_plot.py SCALE_TSV OUT_MD OUT_PNG [NOTE]
Extrapolation to 125 M residents: an ordinary least-squares line y = a + b*N over the measured sizes
(through the origin when only one size was measured) for the database bytes, the serve process's
VmHWM and RssAnon, and the load time, evaluated at N = 125,000,000.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TARGET = 125_000_000


def fit(xs, ys):
    """Least-squares a, b of y = a + b*x; through the origin with a single point."""
    if len(xs) == 1:
        return 0.0, ys[0] / xs[0]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def num(v):
    return None if v in ("", "NA") else float(v)


def main():
    tsv, out_md, out_png = sys.argv[1:4]
    note = sys.argv[4] if len(sys.argv) > 4 else ""
    with open(tsv, newline="") as f:
        rows = [{k: (v if k == "residents" else num(v)) for k, v in r.items()} for r in csv.DictReader(f, delimiter="\t")]
    if not rows:
        sys.exit("scale_plot.py: no rows in " + tsv)
    for r in rows:
        r["residents"] = int(r["residents"])
    rows.sort(key=lambda r: r["residents"])
    ns = [r["residents"] for r in rows]

    def mib(kb):
        return "not measured" if kb is None else f"{kb / 1024:,.1f}"

    def p99(r):
        return "not measured" if r["search_p99_ms"] is None else f"{r['search_p99_ms']:.3f}"

    lines = [
        "# Growth curve (bench/scale.sh)",
        "",
        note,
        "",
        "| residents | load (s) | load (residents/s) | DB bytes | bytes/resident | search p99 (ms) "
        "| lookups (req/s, median) | lookups / nginx | serve VmHWM (MiB) | serve VmRSS (MiB) "
        "| of which RssAnon (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['residents']:,} | {r['load_s']:,.1f} | {r['load_per_s']:,.0f} | {r['db_bytes']:,.0f} "
            f"| {r['bytes_per_resident']:,.0f} | {p99(r)} | {r['lookup_req_s']:,.0f} | {r['lookup_ratio']:.2f} "
            f"| {mib(r['vmhwm_kb'])} | {mib(r['vmrss_kb'])} | {mib(r['rssanon_kb'])} |"
        )

    method = (
        "least-squares line y = a + b·N over the measured sizes" if len(ns) > 1 else "proportional to N from the one size"
    )
    extra = []
    for key, label, to_unit, unit in (
        ("db_bytes", "disk (database files)", lambda v: v / 2**30, "GiB"),
        ("vmhwm_kb", "jlis serve memory (VmHWM)", lambda v: v / 2**20, "GiB"),
        ("rssanon_kb", "jlis serve heap (RssAnon)", lambda v: v / 2**20, "GiB"),
        ("load_s", "load time (population generate)", lambda v: v / 3600, "h"),
    ):
        a, b = fit(ns, [r[key] for r in rows])
        extra.append(f"| {label} | {to_unit(a + b * TARGET):,.1f} {unit} | a = {a:,.4g}, b = {b:,.4g} per resident |")
    lines += [
        "",
        f"Extrapolation to {TARGET:,} residents ({method}, evaluated at N = {TARGET:,}; "
        f"measured sizes {', '.join(f'{n:,}' for n in ns)}). A straight line assumes the per-resident cost "
        "stays what it was at these sizes: if the load rate falls as the B-trees outgrow the cache, the load "
        "time is underestimated. VmHWM and VmRSS include file pages the process maps (RssFile: e.g. a "
        "database file mapped by several connections counts once per mapping, though it is one page cache), "
        "so the heap (RssAnon) is extrapolated beside them.",
        "",
        "| at 125 M | extrapolated | fit (raw units: bytes, kB, s) |",
        "|---|---:|---|",
        *extra,
        "",
    ]
    with open(out_md, "w") as f:
        f.write("\n".join(lines))

    fig, ax = plt.subplots(2, 3, figsize=(12, 6.5))
    panels = (
        (ax[0][0], "load_per_s", "load (residents/s)", 1),
        (ax[0][1], "lookup_req_s", "lookups (req/s, median)", 1),
        (ax[0][2], "search_p99_ms", "search p99 (ms)", 1),
        (ax[1][0], "bytes_per_resident", "database bytes / resident", 1),
        (ax[1][1], "vmhwm_kb", "jlis serve VmHWM (MiB)", 1 / 1024),
        (ax[1][2], "vmrss_kb", "jlis serve VmRSS, RssAnon (MiB)", 1 / 1024),
    )
    for a, key, title, scale in panels:
        pts = [(r["residents"], r[key] * scale) for r in rows if r[key] is not None]
        if pts:
            a.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=key.replace("_kb", ""))
        else:
            a.text(0.5, 0.5, "not measured", ha="center", va="center", transform=a.transAxes)
        if key == "vmrss_kb":
            a.plot(ns, [r["rssanon_kb"] * scale for r in rows], "s--", label="rssanon")
            a.legend(fontsize=8)
        a.set_xscale("log")
        a.set_title(title, fontsize=10)
        a.set_xlabel("residents")
        a.set_ylim(bottom=0)
        a.grid(True, alpha=0.3)
    fig.suptitle("OpenJLIS growth curve (bench/scale.sh)\n" + note, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)


if __name__ == "__main__":
    main()
