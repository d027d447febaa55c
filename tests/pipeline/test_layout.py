"""fashionlab.pipeline.layout: dvc.yaml runs every stage with the options' defaults, which are where `fashionlab`
and a group of seeds read and write a run's files."""

import argparse
import importlib
import shlex

import pytest

from tests.conftest import ROOT, read_yaml

STAGES = read_yaml((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", list(STAGES))
def test_dvc_yaml_passes_each_stage_its_defaults(name):
    module = importlib.import_module(f"fashionlab.pipeline.{name}")
    parser = argparse.ArgumentParser()
    parser.add_argument("--params")
    module.add_options(parser)
    words = shlex.split(STAGES[name]["cmd"])
    assert words[:2] == ["python", f"stages/{name}.py"]
    given = vars(parser.parse_args(words[2:]))
    defaults = vars(parser.parse_args([]))
    assert given == {**defaults, "params": "params.yaml"}
    written = {word[2:].replace("-", "_") for word in words if word.startswith("--")}
    assert written == set(defaults)  # every option spelled out, so dvc.yaml shows where each file goes
