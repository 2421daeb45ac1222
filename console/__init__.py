"""Crisis communications and incident update console."""
