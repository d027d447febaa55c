"""DVC stage `prepare`: verify the Fashion-MNIST archives and write the train / val / test splits."""

import _environment  # noqa: F401 - first: a one-line error when python lacks the project's packages

from fashionlab.common.outputs import write_files
from fashionlab.common.stage_cli import run_stage, stage_parser
from fashionlab.pipeline import prepare


def main(args, params):
    prepared = prepare.prepare(args, params, prepare.archives(params))
    write_files(prepared.files)
    print(", ".join(f"{split}: {size}" for split, size in prepared.sizes.items()))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    prepare.add_options(parser)
    run_stage(main, parser)
