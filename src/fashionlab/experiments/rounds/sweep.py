"""A sweep as `dvc exp run -S` writes it (`-S key=a,b`; several make the grid of all their values), turned into the
parameters of each point by DVC's own machinery, each checked as a stage would check it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fashionlab.common.errors import ParamsError
from fashionlab.common.params import parse_params, parse_yaml
from fashionlab.experiments.records.revisions import read_committed
from fashionlab.experiments.terms.names import PARAMS, assignment, differing, flatten


def sweep_points(root: Path, sweep: tuple[str, ...]) -> list[dict[str, object]]:
    """The grid `dvc exp run -S` would make of `sweep` on the workspace's params.yaml: each point's parameters,
    flattened, checked as a stage would check them."""
    from dvc.exceptions import DvcException
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import apply_overrides, get_hydra_sweeps

    typed = " ".join(f"-S {value}" for value in sweep)
    by_file = to_path_overrides(sweep)
    if set(by_file) != {PARAMS}:
        raise ParamsError(f"{typed}: a race sweeps {PARAMS} only, got {', '.join(sorted(set(by_file) - {PARAMS}))}")
    text = (root / PARAMS).read_text(encoding="utf-8")
    found = []
    try:
        points = get_hydra_sweeps(by_file)
    except Exception as err:  # Hydra's parser errors share no base class with DVC's
        raise ParamsError(f"{typed}: not a value DVC's -S reads: {_reason(err)}") from None
    with tempfile.TemporaryDirectory() as folder:
        for point in points:
            path = Path(folder) / PARAMS
            path.write_text(text, encoding="utf-8")
            try:
                apply_overrides(path, point[PARAMS])
            except DvcException as err:
                raise ParamsError(f"{' '.join(point[PARAMS])}: DVC cannot set it: {_reason(err)}") from None
            written = path.read_text(encoding="utf-8")
            raw = parse_yaml(written, path)
            parse_params(raw, f"{PARAMS} with {typed}", written)
            found.append(flatten(raw))
    return found


def base_changes(root: Path, sweep: tuple[str, ...]) -> list[str]:
    """Where the workspace's params.yaml, which `-S` applies to, differs from HEAD's, but for the keys the sweep
    sets and the seed: each as `-S` takes it back (`train.epochs=5`), so a race can say what it races, and its
    `reproduce:` line pins it on a clean clone. In `-S`'s grammar (Hydra's), a key HEAD lacks is added with `++`,
    and one the workspace lacks is removed with `~`."""
    from dvc.utils.cli_parse import to_path_overrides

    (committed,) = read_committed(root, [("HEAD", PARAMS)])
    if committed is None:
        return []
    head = flatten(parse_yaml(committed.data.decode("utf-8"), f"HEAD:{PARAMS}"))
    workspace = flatten(parse_yaml((root / PARAMS).read_text(encoding="utf-8"), root / PARAMS))
    swept = {override.split("=", 1)[0].lstrip("+~") for override in to_path_overrides(sweep).get(PARAMS, [])}
    keys = [key for key in differing([head, workspace]) if key not in swept and key != "seed"]
    return [
        f"~{key}" if key not in workspace else ("" if key in head else "++") + assignment(key, workspace[key])
        for key in keys
    ]


def _reason(err: BaseException) -> str:
    """The innermost message of a chain of errors, on one line."""
    while err.__cause__ is not None:
        err = err.__cause__
    return " ".join(str(err).split()) or type(err).__name__
