"""The `fashionlab` command, without TensorFlow: what it reads of finished runs (`records`), how it trains new seeds
(`seeding`), the rounds of seeds and looks that `decide` and `race` share (`rounds`), one module per command
(`commands`), what a person reads (`reports`), and the terms they all use (`terms`), under a thin `cli`."""
