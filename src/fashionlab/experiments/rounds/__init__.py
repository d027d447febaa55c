"""The rounds of seeds and looks that `decide` and `race` share, and the line-up of checked configurations they
race: what the user named, turned into configurations with their runs."""
