#!/usr/bin/env python3
"""The Markdown report of tools/opensm-compare.sh: a summary of verdicts, then per case a
table of OpenSM's and fabricctl's results and two verdict lines.

Usage: opensm-compare-table.py WORK_DIR CASE...   (CASE: a directory under WORK_DIR)
"""
import json
import os
import re
import sys

# Our run -> the OpenSM engine its speed is compared with.
SAME_ENGINE = {"minhop": "minhop", "updn": "updn", "ftree": "ftree", "dfsssp": "dfsssp", "escape1": "nue",
               "nue1": "nue", "nue8": "nue8", "torus": "dor"}
OPENSM_NAMES = {"nue": "nue (1 VL)", "nue8": "nue (8 VLs, QoS)"}
OUR_NAMES = {"auto1": "auto --vls 1", "auto8": "auto --vls 8", "escape1": "escape --vls 1", "nue1": "nue --vls 1",
             "nue8": "nue --vls 8"}
ONE_PASS = "-1p"  # a run name's suffix for --one-pass


def base_run(run):
    """The run without its --one-pass suffix."""
    return run[: -len(ONE_PASS)] if run.endswith(ONE_PASS) else run


def our_name(run):
    base = base_run(run)
    return OUR_NAMES.get(base, base) + (" --one-pass" if base != run else "")


def same_engine(run):
    return SAME_ENGINE.get(base_run(run), "")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def lines(path):
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.strip()]
    except OSError:
        return []


def num(v):
    return f"{v:,}" if isinstance(v, int) else str(v)


def per_capacity(d):
    """Worst routes per capacity share, wherever the JSON keeps it."""
    if not d:
        return None
    for key in ("max_load_per_capacity", "max_channel_load_per_capacity"):
        if key in d:
            return d[key]
    values = []
    for s in d.get("subnets", []):
        for key in ("max_load_per_capacity", "max_per_capacity"):
            if key in s:
                values.append(s[key])
            elif key in s.get("channel_load", {}):
                values.append(s["channel_load"][key])
    return max(values) if values else None


def hops_of(d, from_stats):
    """(max, avg) hops over every subnet, the average weighted by pairs."""
    if not d:
        return None
    subs = d.get("subnets", [])
    if from_stats:
        pairs = [(s.get("pairs", 0), s["hops"]["avg"], s["hops"]["max"]) for s in subs if "hops" in s]
    else:
        pairs = [(s.get("pairs", 0), s.get("avg_hops", 0), s.get("max_hops", 0)) for s in subs]
    total = sum(p for p, _, _ in pairs)
    if not pairs:
        return None
    avg = sum(p * a for p, a, _ in pairs) / total if total else 0
    return max(m for _, _, m in pairs), avg


def fabric_facts(topo):
    """Switches, endpoints and whether switch cables run at different rates."""
    switches = endpoints = 0
    rates = set()
    try:
        with open(topo) as f:
            for line in f:
                if line.startswith("Switch"):
                    switches += 1
                elif line.startswith("Ca") or line.startswith("Rt"):
                    endpoints += 1
                elif line.startswith("["):
                    m = re.search(r"\b(\d+x[A-Z0-9]+)\s*$", line)
                    if m:
                        rates.add(m[1])
    except OSError:
        pass
    return switches, endpoints, len(rates) > 1


def lower_bound(d, engines):
    """The cut lower bound of the busiest channel (route stats), from any OpenSM table."""
    for e in engines:
        stats = load(os.path.join(d, f"opensm-{e}.stats.json"))
        if stats and stats.get("subnets"):
            return max(s["channel_load"]["lower_bound"] for s in stats["subnets"])
    return None


def opensm_row(d, e):
    meta = load(os.path.join(d, f"opensm-{e}.meta.json"))
    if meta is None:
        return {"side": "OpenSM", "name": e, "engine": OPENSM_NAMES.get(e, e), "vls": None, "fell_back": False,
                "missing": True, "time": "not cached", "load": None, "per_cap": None, "hops": None, "dlf": None,
                "dlf_text": "-"}
    stats = load(os.path.join(d, f"opensm-{e}.stats.json"))
    verify = load(os.path.join(d, f"opensm-{e}.verify.json"))
    shown = meta.get("used", e) if meta.get("fell_back") else OPENSM_NAMES.get(e, e)
    row = {"side": "OpenSM", "name": e, "engine": shown,
           "vls": meta.get("vls"), "fell_back": meta.get("fell_back", False)}
    if meta.get("timed_out"):
        row["time"] = f"timeout {meta.get('timeout_s')} s"
    elif meta.get("seconds") is not None:
        row["time"] = meta["seconds"]
    else:
        row["time"] = f"n/a (rc {meta.get('rc', '?')})"
    row["load"] = stats.get("max_channel_load") if stats else None
    row["per_cap"] = per_capacity(stats)
    row["hops"] = hops_of(stats, from_stats=True)
    if verify:
        # Faults other than credit loops: pairs that do not arrive, entries on dead ports.
        unrouted = sum(verify.get(k, 0) for k in ("unreachable_pairs", "loop_pairs", "through_endpoint_pairs"))
        faulty = unrouted + verify.get("dead_port_entries", 0) + verify.get("unrouted_subnets", 0)
        row["dlf"] = bool(verify.get("deadlock_free")) and faulty == 0
        lft_only = (meta.get("vls") or 1) > 1 or e in ("dfsssp", "nue8")
        text = "yes" if verify.get("deadlock_free") else "NO"
        if faulty:
            text += f", {num(unrouted)} pairs unrouted" if unrouted else ", dead-port entries"
        row["dlf_text"] = text + (" (LFT only)" if lft_only else "")
    else:
        row["dlf"], row["dlf_text"] = None, "-"
    return row


def our_row(d, r):
    out = load(os.path.join(d, f"ours-{r}.json"))
    row = {"side": "ours", "name": r, "engine": our_name(r), "fell_back": False}
    if not out:
        err = " ".join(lines(os.path.join(d, f"ours-{r}.err")))
        m = re.search(r"(not applicable|failed): (.*)", err)
        why = (m[2] if m else err)[:80]
        row.update(time=f"declined: {why}" if why else "failed", load=None, per_cap=None, hops=None, vls=None,
                   dlf=None, dlf_text="-")
        return row
    used = sorted({s.get("engine", "") for s in out.get("subnets", []) if s.get("engine")})
    if r.startswith("auto") and used:
        row["engine"] += f" ({', '.join(used)})"
    times = [x["route_seconds"] for x in (load(os.path.join(d, f"ours-{r}{s}.json")) for s in ("", ".run2", ".run3"))
             if x and "route_seconds" in x]
    row["time"] = min(times) if times else "?"
    row["load"] = out.get("max_channel_load")
    row["per_cap"] = per_capacity(out)
    row["hops"] = hops_of(out, from_stats=False)
    row["vls"] = out.get("vls")
    row["dlf"] = bool(out.get("deadlock_free")) and out.get("sound", True) and not out.get("unreachable_pairs")
    row["dlf_text"] = "yes" if row["dlf"] else ("NO" if out.get("deadlock_free") is False else "unsound")
    return row


def speedup(ours, theirs):
    if not theirs or not isinstance(ours.get("time"), float) or not isinstance(theirs.get("time"), float):
        return "-"
    s = f"{theirs['time'] / max(ours['time'], 1e-4):.1f}x"
    return f"({s})" if theirs["fell_back"] else s


def fmt_time(t):
    return f"{t:.4f}" if isinstance(t, float) else str(t)


def measure_of(rates_differ):
    """What a verdict compares: routes on the busiest channel, or, where cable rates differ,
    the worst routes per capacity share (a slow cable given as many routes as its fast
    neighbours is the bottleneck even when no channel carries more routes)."""
    if rates_differ:
        return "per_cap", "worst load per capacity"
    return "load", "routes on the busiest channel"


def fmt_measure(v):
    return f"{v:,.0f}" if isinstance(v, float) else num(v)


def one_vl_verdict(osm, ours, key, what):
    a1 = next((r for r in ours if r["name"] == "auto1"), None)
    one_vl = [r for r in osm if r["dlf"] and r["vls"] == 1 and r[key] is not None]
    best = min(one_vl, key=lambda r: r[key]) if one_vl else None
    if not a1 or a1[key] is None:
        return "- 1 VL: ours `auto --vls 1` failed: **loss**", ("failed", "loss")
    mine = fmt_measure(a1[key])
    if best:
        win = a1["dlf"] and a1[key] <= best[key]
        ratio = a1[key] / best[key] if best[key] else 0
        theirs = fmt_measure(best[key])
        line = (f"- 1 VL: ours `auto --vls 1` {mine} {what} "
                f"({'deadlock-free' if a1['dlf'] else 'NOT deadlock-free'}) vs OpenSM's best deadlock-free "
                f"1-VL table ({best['name']}) {theirs}: **{'win' if win else 'loss'}** ({ratio:.2f}x)")
        return line, (f"{mine} / {theirs} ({best['name']})", "win" if win else "loss")
    if any(r.get("missing") for r in osm):
        return (f"- 1 VL: ours `auto --vls 1` {mine} {what}; OpenSM's results are not all cached",
                (f"{mine} / not cached", "-"))
    win = a1["dlf"]
    return (f"- 1 VL: ours `auto --vls 1` {mine} {what}, no deadlock-free 1-VL OpenSM table: "
            f"**{'win' if win else 'loss'}**", (f"{mine} / none", "win" if win else "loss"))


def several_vl_verdict(osm, ours, key, what):
    a8 = next((r for r in ours if r["name"] == "auto8"), None)
    df = next((r for r in osm if r["name"] == "dfsssp"), None)
    if not (a8 and a8[key] is not None and df and not df.get("missing")):
        return "- 8 VLs: no comparison (ours `auto --vls 8` or OpenSM dfsssp missing)", ("-", "-")
    mine = fmt_measure(a8[key])
    if df["fell_back"] or df[key] is None:
        win = a8["dlf"]
        return (f"- 8 VLs: ours `auto --vls 8` {mine} {what} on {a8['vls']} VLs vs OpenSM dfsssp: "
                f"{df['engine']}: **{'win' if win else 'loss'}**",
                (f"{mine}, {a8['vls']} VLs / dfsssp failed", "win" if win else "loss"))
    win = a8["dlf"] and a8[key] <= df[key] and a8["vls"] <= df["vls"]
    theirs = fmt_measure(df[key])
    return (f"- 8 VLs: ours `auto --vls 8` {mine} {what} on {a8['vls']} VLs vs OpenSM dfsssp "
            f"{theirs} on {df['vls']} VLs: **{'win' if win else 'loss'}**",
            (f"{mine}, {a8['vls']} VLs / {theirs}, {df['vls']} VLs", "win" if win else "loss"))


def verdicts(osm, ours, rates_differ):
    """The two verdict lines and their short forms for the summary."""
    key, what = measure_of(rates_differ)
    one_line, one_short = one_vl_verdict(osm, ours, key, what)
    several_line, several_short = several_vl_verdict(osm, ours, key, what)
    return [one_line, several_line], [one_short, several_short]


def case_report(work, case):
    d = os.path.join(work, case)
    label = (lines(os.path.join(d, "label")) or [case])[0]
    switches, endpoints, rates_differ = fabric_facts(os.path.join(d, "topo.ibnd"))
    osm = [opensm_row(d, e) for e in lines(os.path.join(d, "opensm-engines"))]
    ours = [our_row(d, r) for r in lines(os.path.join(d, "our-runs"))]
    by_engine = {r["name"]: r for r in osm}
    head = ["side", "engine", "busiest channel (routes)"]
    if rates_differ:
        head.append("worst load / capacity")
    head += ["VLs", "hops max / avg", "routing s", "deadlock-free", "speed-up"]
    bound = lower_bound(d, lines(os.path.join(d, "opensm-engines")))
    bound_text = f", busiest-channel lower bound {num(bound)}" if bound is not None else ""
    text = [f"#### {label}: {num(switches)} switches, {num(endpoints)} endpoints{bound_text}", "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in osm + ours:
        cells = [r["side"], r["engine"], num(r["load"]) if r["load"] is not None else "-"]
        if rates_differ:
            pc = r["per_cap"]
            cells.append(f"{pc:,.0f}" if isinstance(pc, (int, float)) else "-")
        hops = f"{r['hops'][0]} / {r['hops'][1]:.2f}" if r["hops"] else "-"
        spd = speedup(r, by_engine.get(same_engine(r["name"]))) if r["side"] == "ours" else "-"
        cells += [str(r["vls"]) if r["vls"] is not None else "-", hops, fmt_time(r["time"]), r["dlf_text"], spd]
        text.append("| " + " | ".join(cells) + " |")
    lines_out, short = verdicts(osm, ours, rates_differ)
    metas = [load(os.path.join(d, f"opensm-{e}.meta.json")) or {} for e in lines(os.path.join(d, "opensm-engines"))]
    loads = [m["load_average"] for m in metas if m.get("load_average") is not None]
    if loads:
        lines_out.append(f"- OpenSM ran at a 1-minute load average of {min(loads):.1f}-{max(loads):.1f}")
    return label, text + [""] + lines_out + [""], short


def main():
    work, cases = sys.argv[1], sys.argv[2:]
    reports = [case_report(work, c) for c in cases]
    print("Compared: routes on the busiest channel; on fabrics whose cable rates differ, the worst "
          "load per capacity (both are in each fabric's table below).")
    print()
    print("| fabric | 1 VL: ours auto / best deadlock-free OpenSM | | "
          "8 VLs: ours auto / OpenSM dfsssp | |")
    print("|---|---|---|---|---|")
    for label, _, short in reports:
        print(f"| {label} | {short[0][0]} | {short[0][1]} | {short[1][0]} | {short[1][1]} |")
    print()
    for _, text, _ in reports:
        print("\n".join(text))


if __name__ == "__main__":
    main()
