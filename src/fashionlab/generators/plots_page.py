"""The HTML page `dvc plots show` and `dvc plots diff` fill in, made to draw its charts without internet.

DVC's own page loads Vega, Vega-Lite and vega-embed from a CDN, so on a machine without internet (a
cluster node, a plane, CI) every chart stays blank. This page carries the three libraries inside it, as the
bundle vl-convert-python ships (the versions uv.lock pins). `.dvc/config` points `plots.html_template` at
it, and it is committed, so a fresh clone draws offline before anything is generated; `make plots-page`
writes it again after the pin changes, and a test fails while it differs from what this module makes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import vl_convert

from fashionlab.common.outputs import write_files

DEFAULT_PATH = Path(".dvc/plots/offline.html")  # `plots.html_template` in .dvc/config, relative to .dvc/

# DVC fills {refresh_tag} and {plot_divs}; its {scripts}, the CDN's <script> tags, is left out on purpose.
PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC plots</title>
    <script>
BUNDLE
    </script>
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def page() -> str:
    """The template, with Vega, Vega-Lite and vega-embed inline (about 0.9 MB)."""
    return PAGE.replace("BUNDLE", vl_convert.javascript_bundle())


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    write_files({path: page().encode()})


if __name__ == "__main__":
    main()
