"""The files `make` regenerates from the code, so that they cannot drift from it: the generated parts of the
reference pages (`make docs`) and the page `dvc plots` draws offline (`make plots-page`)."""
