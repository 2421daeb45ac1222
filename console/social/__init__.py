"""What the social channels (X, Mastodon) share: the posts of a version (one, or a numbered
run) and where they thread, the record of a post whose outcome is unknown, the posts a run
made, and the steps that deliver each post exactly once."""
