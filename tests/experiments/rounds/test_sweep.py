"""fashionlab.experiments.rounds.sweep: where the params.yaml a sweep applies to differs from HEAD's, written as `-S`
takes it back, so that `reproduce:` races the same points on a clean clone."""

import subprocess

from fashionlab.experiments.rounds.sweep import base_changes
from tests.conftest import ENV


def test_the_base_is_each_change_from_head_as_dvc_s_set_param_applies_it(tmp_path):
    from dvc.utils.hydra import apply_overrides

    head = "seed: 42\ntrain:\n  epochs: 20\n  lr: 0.01\n  old: 1\n"
    (tmp_path / "params.yaml").write_text(head)
    for command in (["git", "init", "-q"], ["git", "add", "params.yaml"], ["git", "commit", "-qm", "head"]):
        subprocess.run(command, cwd=tmp_path, env=ENV, check=True)
    workspace = "seed: 7\ntrain:\n  epochs: 5\n  lr: 0.3\n  new: true\n"
    (tmp_path / "params.yaml").write_text(workspace)
    pinned = base_changes(tmp_path, ("train.lr=0.01,0.3",))  # the swept key and the seed are not the base
    assert pinned == ["train.epochs=5", "++train.new=true", "~train.old"]
    clone = tmp_path / "clone.yaml"
    clone.write_text(head)
    apply_overrides(clone, [*pinned, "train.lr=0.3", "seed=7"])
    assert clone.read_text() == workspace
