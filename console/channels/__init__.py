"""Fan-out channels behind one adapter interface (see `base`)."""
