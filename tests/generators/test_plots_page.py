"""fashionlab.generators.plots_page: the page `dvc plots` fills in: Vega inline, and what the pinned vl-convert-
python makes today.

That it draws its charts with no network is checked in a browser, in test_pipeline.py.
"""

from fashionlab.generators.plots_page import DEFAULT_PATH, page
from tests.conftest import ROOT


def test_the_committed_page_is_current():
    """Stale after a change of the vl-convert-python pin: run `make plots-page`."""
    assert (ROOT / DEFAULT_PATH).read_text() == page()


def test_the_page_loads_nothing_from_the_network_and_has_what_dvc_fills_in():
    html = page()
    assert "{plot_divs}" in html and "{refresh_tag}" in html and "{scripts}" not in html
    assert "<script src=" not in html and "cdn.jsdelivr" not in html
    assert "vegaEmbed" in html and len(html) > 500_000
