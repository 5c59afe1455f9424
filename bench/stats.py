"""Figures for bench/run.py: medians, spreads, per-pair ratios, targets and the Markdown table.

Pure functions, so the unit tests reach them without a lab.
"""
import statistics

FIELDS = ("wall_s", "cpu_s", "host_cpu_s", "peak_rss_mb", "output_mb")


def summary(runs, fields=FIELDS):
    """Median, min, max and relative spread of each field over the runs that have it."""
    out = {"runs": len(runs)}
    for field in fields:
        values = [run[field] for run in runs if run.get(field) is not None]
        if not values:
            continue
        median = statistics.median(values)
        out[field] = {"median": round(median, 3), "min": round(min(values), 3), "max": round(max(values), 3),
                      "spread": round((max(values) - min(values)) / median, 3) if median else 0.0}
    return out


def paired_ratio(runs, baseline_runs, field="wall_s"):
    """Median of the per-repeat ratios contender/baseline (repeat i against repeat i of the same run)."""
    pairs = [(a.get(field), b.get(field)) for a, b in zip(runs, baseline_runs)]
    ratios = [a / b for a, b in pairs if a is not None and b]
    return round(statistics.median(ratios), 3) if ratios else None


def median_of(results, name, field="wall_s"):
    entry = results.get(name, {}).get("summary", {}).get(field)
    return entry["median"] if entry else None


def targets(results, scaling, overhead):
    """The issue's targets, each with the measured value and whether it is met (None: not measured)."""
    def ratio(a, b, field="wall_s"):
        if a not in results or b not in results:
            return None
        return paired_ratio(results[a]["runs"], results[b]["runs"], field)

    rows = [
        ("backup time vs reference (pg_dump | gzip -9)", ratio("backup/lifeboat-module", "backup/reference"), "<= 0.5", 0.5),
        ("backup size vs reference", ratio("backup/lifeboat-module", "backup/reference", "output_mb"), "<= 1.0", 1.0),
        ("restore time vs reference (gunzip | psql)", ratio("restore/lifeboat-module", "restore/reference"), "<= 0.5", 0.5),
        ("backup time vs pgBackRest", ratio("backup/lifeboat-module", "backup/pgbackrest"), "<= 1.0", 1.0),
        ("restore time vs pgBackRest", ratio("restore/lifeboat-module", "restore/pgbackrest"), "<= 1.0", 1.0),
        ("physical backup (lifeboat pitr) vs pgBackRest", ratio("backup/lifeboat-pitr", "backup/pgbackrest"), "<= 1.0", 1.0),
        ("physical restore (lifeboat pitr) vs pgBackRest", ratio("restore/lifeboat-pitr", "restore/pgbackrest"), "<= 1.0", 1.0),
        ("physical restore from offsite (lifeboat pitr, S3) vs pgBackRest (local repository)",
         ratio("restore/lifeboat-pitr-offsite", "restore/pgbackrest"), "<= 1.0", 1.0),
        ("Ansible fixed overhead per run (s)", overhead, "< 3", 3.0),
    ]
    if scaling:
        one = next((row["wall_s"]["median"] for row in scaling if row["hosts"] == 1), None)
        most = max(scaling, key=lambda row: row["hosts"])
        if one and most["hosts"] > 1:
            rows.append(("backup.yml on %d hosts vs 1 host" % most["hosts"],
                         round(most["wall_s"]["median"] / one, 3), "<= 2.0", 2.0))
    out = []
    for name, value, goal, limit in rows:
        strict = goal.startswith("<") and not goal.startswith("<=")
        met = None if value is None else (value < limit if strict else value <= limit)
        out.append({"target": name, "value": value, "goal": goal, "met": met})
    return out


def _cell(summary_entry, field, digits=1):
    entry = summary_entry.get(field)
    if not entry:
        return "-"
    return "%.*f (±%d%%)" % (digits, entry["median"], round(entry["spread"] * 50)) if entry["spread"] else \
        "%.*f" % (digits, entry["median"])


def markdown(report):
    """The results as Markdown: machine, dataset, one table per phase, targets, scaling."""
    machine, dataset = report["machine"], report["dataset"]
    lines = [
        "Lifeboat benchmark, %s, on %s (%s cores, %s GiB RAM, %s); PostgreSQL %s; dataset %.0f MB in %s rows "
        "(%s); %d repeats per contender, contenders alternating; medians, ± is half the spread (max - min) "
        "relative to the median." % (report["date"], machine["cpu"], machine["cores"], machine["memory_gib"],
                                     machine["kernel"], dataset["server_version"], dataset["size_mb"],
                                     "{:,}".format(dataset["rows"]), ", ".join(dataset["tables"]),
                                     report["settings"]["repeat"]),
        "",
    ]
    for phase in ("backup", "restore", "floor"):
        names = [name for name in report["results"] if name.startswith(phase + "/")]
        if not names:
            continue
        lines += ["| %s | wall s | CPU s (tools) | CPU s (host, incl. server) | peak RSS MB | output MB | "
                  "time vs reference | time vs pgBackRest |" % phase, "|---|---|---|---|---|---|---|---|"]
        for name in names:
            entry = report["results"][name]
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                _escape(entry["label"]), _cell(entry["summary"], "wall_s"), _cell(entry["summary"], "cpu_s"),
                _cell(entry["summary"], "host_cpu_s"), _cell(entry["summary"], "peak_rss_mb", 0),
                _cell(entry["summary"], "output_mb", 0),
                _ratio_text(entry.get("vs_reference")), _ratio_text(entry.get("vs_pgbackrest"))))
        lines.append("")
    if report.get("scaling"):
        lines += ["| backup.yml (small SQLite service per host), forks = hosts | wall s | s per host |", "|---|---|---|"]
        for row in report["scaling"]:
            lines.append("| %d host%s | %s | %.2f |" % (row["hosts"], "" if row["hosts"] == 1 else "s",
                                                       _cell(row, "wall_s", 2), row["wall_s"]["median"] / row["hosts"]))
        lines.append("")
    lines += ["| target | measured | goal | met |", "|---|---|---|---|"]
    for row in report["targets"]:
        lines.append("| %s | %s | %s | %s |" % (_escape(row["target"]), "-" if row["value"] is None else row["value"],
                                                row["goal"], {True: "yes", False: "**no**", None: "not measured"}[row["met"]]))
    return "\n".join(lines) + "\n"


def _ratio_text(value):
    return "-" if value is None else "%.2fx" % value


def _escape(text):
    return text.replace("|", "\\|")
