"""Live push to residents' browsers."""
