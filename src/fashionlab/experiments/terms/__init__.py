"""What every part of the `fashionlab` command shares, and nothing else: the names of things, the wording of
seeds and sides, and the settings a judgement is made with."""
