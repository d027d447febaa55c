"""Where the dataset comes from and how it is split: the catalog of datasets and checksums, the download,
the IDX format, and the seeded train / validation / test splits (the `prepare` stage)."""
