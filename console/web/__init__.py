"""The HTTP layer: thin handlers over the domain services."""
