"""Images attached to updates (issue 18): re-encoding (`images`) and content-addressed files (`store`)."""
