"""The picture of a race: every configuration's interval against the choice (or the leader), drawn twice from one
Vega-Lite template (`race_intervals.json` beside this module): by `dvc plots show` into the page its users already
open, and here into a PNG to paste into a pull request. DVC finds a project's templates by name in `.dvc/plots/`, so
the race writes the template there too (its legend holding the statuses this race has), beside `dvc plots`' other
ones (commit it with the race's folder).

A race writes a folder of its own: the rows (`intervals.json`), the PNG, and a `dvc.yaml` holding only the plot
that draws the rows. DVC reads every `dvc.yaml` of a project, so the chart joins `dvc plots show` and, once the
folder is committed, `dvc plots diff`; a project that never raced declares nothing that could be missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from fashionlab.experiments.reports.race import REFERENCES, STATUS, reference, versus

TEMPLATE = Path(__file__).with_name("race_intervals.json")
PROJECT_TEMPLATE = Path(".dvc") / "plots" / TEMPLATE.name  # where `template: race_intervals` is looked up
ROWS, PICTURE, PIPELINE = "intervals.json", "intervals.png", "dvc.yaml"
LEGEND = {**STATUS, "within": "within the ROPE", "near": "within the ROPE", "worse": "worse than the choice"}


def title(result: dict) -> str:
    what = reference(result)
    dropped = any(c["status"] == "dropped" for c in result["configurations"]) and what != "the leader"
    dropped = "; the dropped, against the leader that dropped them" if dropped else ""
    return f"Each configuration against {what}: test accuracy difference and its interval (grey: the ROPE{dropped})"


def x_label(result: dict) -> str:
    return f"test accuracy, minus {reference(result)}'s"


def rows(result: dict) -> list[dict]:
    """A row per configuration that reached a look: its difference from the choice (or the winner, or the leader)
    and the interval at its last look (0 for that one; a dropped one's against the leader that dropped it), its
    status, its accuracy and seeds, ranked as the table ranks them."""
    found = []
    for configuration in result["configurations"]:
        interval = versus(result, configuration)
        if configuration["status"] == "dropped":
            interval = configuration["against_leader"]  # against the leader of the look that dropped it
        leading = configuration["status"] in REFERENCES
        if interval is None and not leading:
            continue  # its runs failed before any look
        found.append(
            {
                "configuration": configuration["label"],
                "row": f"{configuration['label']}: {configuration['accuracy']:.4f}, "
                f"{configuration['accuracy_seeds']} seeds",
                "status": LEGEND[configuration["status"]],
                "difference": 0.0 if leading else interval["difference"],
                "low": 0.0 if leading else interval["low"],
                "high": 0.0 if leading else interval["high"],
                "level": None if leading else interval["level"],
                "seeds": configuration["accuracy_seeds"],
                "accuracy": configuration["accuracy"],
                "rope_low": -result["rope"],
                "rope_high": result["rope"],
            }
        )
    found.sort(key=lambda row: (-row["difference"], row["configuration"]))
    return [{**row, "rank": rank} for rank, row in enumerate(found)]


def template_text(found: list[dict]) -> str:
    """The chart's template, its legend reduced to the statuses these rows have."""
    spec = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    scale = spec["spec"]["layer"][-1]["encoding"]["color"]["scale"]
    present = {row["status"] for row in found}
    kept = [pair for pair in zip(scale["domain"], scale["range"], strict=True) if pair[0] in present]
    scale["domain"], scale["range"] = [status for status, _ in kept], [colour for _, colour in kept]
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def pipeline_text(command: str, result: dict) -> str:
    """The folder's dvc.yaml: the chart, and where it came from (its strings quoted as JSON, which YAML reads)."""
    return (
        f"# Written by `fashionlab race`: {command}\n"
        f"# Every configuration against {reference(result)} at its last look; `dvc plots show` draws it.\n"
        "plots:\n"
        f"  - {ROWS}:\n"
        "      template: race_intervals\n"
        f"      title: {json.dumps(title(result))}\n"
        "      x: difference\n"
        "      y: row\n"
        f"      x_label: {json.dumps(x_label(result))}\n"
    )


def picture(found: list[dict], template: str, result: dict) -> bytes:
    """The PNG: the template `dvc plots` fills, filled here the same way (one panel, no revision)."""
    import vl_convert

    for placeholder, value in (("<DVC_METRIC_TITLE>", title(result)), ("<DVC_METRIC_X_LABEL>", x_label(result))):
        template = template.replace(placeholder, value)
    spec = json.loads(template)
    spec["data"]["values"] = [{**row, "rev": ""} for row in found]
    return vl_convert.vegalite_to_png(spec, scale=2)


def report_files(root: Path, result: dict, folder: Path) -> dict[Path, bytes]:
    """What the race writes into `folder`, by path."""
    found = rows(result)
    template = template_text(found)
    return {
        folder / ROWS: (json.dumps(found, indent=2) + "\n").encode(),
        folder / PICTURE: picture(found, template, result),
        folder / PIPELINE: pipeline_text(result["reproduce"], result).encode(),
        root / PROJECT_TEMPLATE: template.encode(),
    }
