"""Feeds for media: Atom and RSS of every published version, and CAP 1.2 alerts.

Rendered from the database into static files (`FEEDS_DIR`) by the `feeds` outbox channel,
served by the app or by nginx/a CDN as they are; never rendered per request.
"""
