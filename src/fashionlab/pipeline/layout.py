"""Where the stages write, relative to the project: the defaults of their options, which dvc.yaml's commands
repeat (tests/test_architecture.py holds the two equal). `fashionlab` reads runs' outputs by these paths."""

PREPARED = "data/prepared"  # train.npz, val.npz, test.npz
PREPARE_METRICS = "metrics/prepare.json"
DATASET = "metrics/dataset.json"
PARITY_METRICS = "metrics/parity.json"
PARITY_DETAILS = "metrics/parity_cases.json"
MODEL = "models/model.keras"
CHECKPOINT = "models/checkpoint"
HISTORY = "metrics/history.csv"
SUMMARY = "metrics/train.json"
TIMING = "metrics/timing.json"
MACHINE = "metrics/machine.json"
EVALUATION = "metrics/eval.json"
PREDICTIONS = "metrics/confusion.csv"
PER_CLASS = "metrics/per_class.csv"
MISTAKES = "metrics/mistakes"
