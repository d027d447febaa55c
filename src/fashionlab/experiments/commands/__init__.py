"""One module per `fashionlab` command: each takes the project and its options and returns its result as data,
which `reports` words and `cli` prints."""
