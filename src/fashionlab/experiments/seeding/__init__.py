"""New seeds trained and each saved as a DVC experiment: the plan of what to train, the engine that trains it
(this machine's group process, or a Ray cluster's nodes), the scratch checkouts, and the live progress."""
