"""The picture of a race: every configuration's interval against the leader, drawn twice from one Vega-Lite template
(`race_intervals.json` beside this module): by `dvc plots show` into the page its users already open, and here
into a PNG to paste into a pull request. DVC finds a project's templates by name in `.dvc/plots/`, so the race
writes the template there too, beside `dvc plots`' other ones (commit it with the race's folder).

A race writes a folder of its own: the rows (`intervals.json`), the PNG, and a `dvc.yaml` holding only the plot
that draws the rows. DVC reads every `dvc.yaml` of a project, so the chart joins `dvc plots show` and, once the
folder is committed, `dvc plots diff`; a project that never raced declares nothing that could be missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from fashionlab.experiments.reports.race import STATUS

TEMPLATE = Path(__file__).with_name("race_intervals.json")
PROJECT_TEMPLATE = Path(".dvc") / "plots" / TEMPLATE.name  # where `template: race_intervals` is looked up
ROWS, PICTURE, PIPELINE = "intervals.json", "intervals.png", "dvc.yaml"
TITLE = "Each configuration against the leader: test accuracy difference and its interval (grey: the ROPE)"
X_LABEL = "test accuracy, minus the leader's"
LEGEND = {**STATUS, "within": "within the ROPE"}


def rows(result: dict) -> list[dict]:
    """A row per configuration that reached a look: its difference from the leader and the interval at its last
    look (the leader's is 0), its status, ranked as the table ranks them."""
    found = []
    for configuration in result["configurations"]:
        versus = configuration["against_leader"]
        if versus is None and configuration["status"] not in ("leader", "winner"):
            continue  # its runs failed before any look
        leading = versus is None
        found.append(
            {
                "configuration": configuration["label"],
                "status": LEGEND[configuration["status"]],
                "difference": 0.0 if leading else versus["difference"],
                "low": 0.0 if leading else versus["low"],
                "high": 0.0 if leading else versus["high"],
                "level": None if leading else versus["level"],
                "seeds": configuration["accuracy_seeds"],
                "accuracy": configuration["accuracy"],
                "rope_low": -result["rope"],
                "rope_high": result["rope"],
            }
        )
    found.sort(key=lambda row: (-row["difference"], row["configuration"]))
    return [{**row, "rank": rank} for rank, row in enumerate(found)]


def pipeline_text(command: str) -> str:
    """The folder's dvc.yaml: the chart, and where it came from (its strings quoted as JSON, which YAML reads)."""
    return (
        f"# Written by `fashionlab race`: {command}\n"
        "# Every configuration against the leader at its last look; `dvc plots show` draws it.\n"
        "plots:\n"
        f"  - {ROWS}:\n"
        "      template: race_intervals\n"
        f"      title: {json.dumps(TITLE)}\n"
        "      x: difference\n"
        "      y: configuration\n"
        f"      x_label: {json.dumps(X_LABEL)}\n"
    )


def picture(found: list[dict]) -> bytes:
    """The PNG: the template `dvc plots` fills, filled here the same way (one panel, no revision)."""
    import vl_convert

    text = TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in (("<DVC_METRIC_TITLE>", TITLE), ("<DVC_METRIC_X_LABEL>", X_LABEL)):
        text = text.replace(placeholder, value)
    spec = json.loads(text)
    spec["data"]["values"] = [{**row, "rev": ""} for row in found]
    return vl_convert.vegalite_to_png(spec, scale=2)


def report_files(root: Path, result: dict, folder: Path) -> dict[Path, bytes]:
    """What the race writes into `folder`, by path."""
    found = rows(result)
    return {
        folder / ROWS: (json.dumps(found, indent=2) + "\n").encode(),
        folder / PICTURE: picture(found),
        folder / PIPELINE: pipeline_text(result["reproduce"]).encode(),
        root / PROJECT_TEMPLATE: TEMPLATE.read_bytes(),
    }
