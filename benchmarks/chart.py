"""The chart of server/ceiling ratios from every result file, and the results section of benchmarks/README.md.

    python -m benchmarks.chart [benchmarks/results]

One group of bars per phase, one bar per run and concurrency (database,
users, C), and the target as a red mark across the group: a run that
regressed, or a 100,000-user figure that fell below the 10,000-user one (a
scan where an index should be), stands out at a glance.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def load(directory: Path) -> list[dict[str, Any]]:
    results = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    return sorted(results, key=lambda r: (r["database"] != "sqlite", r["users"], r["group_members"]))


def category(row: dict[str, Any]) -> str:
    return str(row["title"]) + (f"\n@{row['group_members']:,}" if row["group_members"] else "")


def series_name(result: dict[str, Any], concurrency: int) -> str:
    members = "" if result["group_members"] == [5000] else f" ({'/'.join(map(str, result['group_members']))} members)"
    return f"{result['database']} {result['users']:,} users{members} C={concurrency}"


def draw(results: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories: list[str] = []
    targets: dict[str, float | None] = {}
    values: dict[str, dict[str, float | None]] = {}
    for result in results:
        for row in result["phases"]:
            name = category(row)
            if name not in targets:
                categories.append(name)
                targets[name] = row["target"]
            values.setdefault(series_name(result, row["concurrency"]), {})[name] = row["ratio"]
    if not categories:
        return
    figure, axes = plt.subplots(figsize=(max(10, 1.3 * len(categories)), 6.5))
    width = 0.8 / max(1, len(values))
    colors = [plt.get_cmap("tab20")(number % 20) for number in range(len(values))]
    for number, (series, ratios) in enumerate(values.items()):
        xs = [i + (number - (len(values) - 1) / 2) * width for i, name in enumerate(categories) if name in ratios]
        ys = [ratios[name] or 0.0 for name in categories if name in ratios]
        axes.bar(xs, ys, width, label=series, color=colors[number])
    for i, name in enumerate(categories):
        target = targets[name]
        if target is not None:
            axes.hlines(target, i - 0.45, i + 0.45, colors="red", linewidth=2)
    axes.plot([], [], color="red", linewidth=2, label="target")
    axes.set_xticks(range(len(categories)), categories, rotation=35, ha="right", fontsize=8)
    axes.set_ylabel("server ops/s ÷ ceiling ops/s")
    axes.set_title("SCIM server against the ceiling (same gunicorn settings, same machine)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def update_readme(directory: Path) -> None:
    """Replace the results section of benchmarks/README.md by the chart and every table (default directory only)."""
    if directory.resolve() != (HERE / "results").resolve() or not README.exists():
        return
    text = README.read_text()
    if START not in text or END not in text:
        return
    tables = [path.read_text().strip() for path in sorted(directory.glob("*.md")) if path.name != "README.md"]
    section = "\n\n".join([START, "![server/ceiling ratio per phase](results/ratios.png)", *tables, END])
    README.write_text(text[: text.index(START)] + section + text[text.index(END) + len(END) :])


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    directory = Path(arguments[0]) if arguments else HERE / "results"
    draw(load(directory), directory / "ratios.png")
    update_readme(directory)
    print(f"chart: {directory / 'ratios.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
