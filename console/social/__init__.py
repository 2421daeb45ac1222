"""What the social channels (X, Mastodon) share: the post text and where it threads, the
record of a post whose outcome is unknown, and the steps that deliver a post exactly once."""
