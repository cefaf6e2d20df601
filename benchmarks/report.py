"""The markdown table of one run's JSON result: what ``run.py`` prints and writes next to the JSON."""

from __future__ import annotations

from typing import Any


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[met]


def _latencies(side: dict[str, Any]) -> str:
    return " / ".join(_number(side[key], 1) for key in ("p50_ms", "p95_ms", "p99_ms"))


def _code(text: str) -> str:
    return "`" + text[:400].replace("`", "'") + "`"


def title(result: dict[str, Any]) -> str:
    members = ", ".join(f"{size:,}" for size in result["group_members"])
    return f"{result['database_version']}, {result['users']:,} users, group of {members} members"


def markdown(result: dict[str, Any]) -> str:
    gunicorn = result["gunicorn"]
    machine = result["machine"]
    lines = [
        f"### {title(result)}",
        "",
        f"{machine['cpu_count']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
        f"gunicorn {gunicorn['workers']} workers × {gunicorn['threads']} threads ({gunicorn['worker_class']}), "
        f"{result['duration']:g} s per phase after {result['warmup']:g} s warm-up, server code {result['commit']}, "
        f"{result['started']}.",
        "",
        "| phase | C | server ops/s | ceiling ops/s | ratio | target | met | server p50/p95/p99 ms "
        "| ceiling p50/p95/p99 ms | errors server/ceiling | generator CPU server/ceiling |",
        "|---|--:|--:|--:|--:|--:|:-:|--:|--:|--:|--:|",
    ]
    for row in result["phases"]:
        server, ceiling = row["server"], row["ceiling"]
        name = row["title"] + (f" @{row['group_members']:,}" if row["group_members"] else "")
        lines.append(
            f"| {name} | {row['concurrency']} | {_number(server['ops_per_s'], 1)} | {_number(ceiling['ops_per_s'], 1)} "
            f"| {_number(row['ratio'], 3)} | {_number(row['target'], 2)} | {_met(row['met'])} "
            f"| {_latencies(server)} | {_latencies(ceiling)} | {server['errors']} / {ceiling['errors']} "
            f"| {_percent(server['generator_cpu'])} / {_percent(ceiling['generator_cpu'])} |"
        )
    seeding = result["seeding"]
    lines += [
        "",
        "| measure | value | target | met |",
        "|---|--:|--:|:-:|",
        f"| seeding (/Bulk of 1,000 users, {seeding['concurrency']} at a time) | "
        f"{_number(seeding['users_per_s'])} users/s ({seeding['users']:,} in {seeding['seconds']:.1f} s) "
        f"| ≥ {_number(seeding['target'])} users/s | {_met(seeding['met'])} |",
        f"| credentials (/Bulk) | {_number(seeding['credentials_per_s'])} credentials/s "
        f"({seeding['credentials']:,}) | | |",
    ]
    for size, rate in seeding["group_members_per_s"].items():
        lines.append(f"| group grown to {int(size):,} members (PATCH of 1,000) | {_number(rate)} members/s | | |")
    terminations = result.get("bulk_terminations")
    if terminations:
        runs = ", ".join(f"{seconds:.2f}" for seconds in terminations["seconds"])
        lines.append(
            f"| /Bulk of 1,000 terminations (median of {runs} s) | {terminations['median_s']:.2f} s "
            f"| < {terminations['target_s']:g} s | {_met(terminations['met'])} |"
        )
    for side in ("ceiling", "server"):
        cpu = max((row[side]["generator_cpu"] or 0.0 for row in result["phases"]), default=None)
        lines.append(f"| load generator CPU, busiest {side} phase | {_percent(cpu)} of one core | < 100 % | |")
    rss = result["rss_mib"]
    lines += [
        f"| server worker RSS after seeding | {' / '.join(_number(v, 1) for v in rss['after_seeding'])} MiB "
        f"| < {rss['target']:g} MiB | {_met(rss['met'])} |",
        f"| server worker RSS at the end | {' / '.join(_number(v, 1) for v in rss['at_end'])} MiB | | |",
        f"| ceiling worker RSS | {' / '.join(_number(v, 1) for v in rss['ceiling'])} MiB | | |",
    ]
    errors = [
        (row, side, sample)
        for row in result["phases"]
        for side in ("server", "ceiling")
        for sample in row[side]["error_samples"]
    ]
    errors += [
        ({"title": "/Bulk of 1,000 terminations", "concurrency": 1}, "server", sample)
        for sample in (terminations or {}).get("error_samples", [])
    ]
    if errors:
        lines += ["", "Errors (samples):", ""]
        lines += [f"* {row['title']} C={row['concurrency']} {side}: {_code(sample)}" for row, side, sample in errors]
    return "\n".join(lines) + "\n"
