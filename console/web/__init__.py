"""The HTTP layer: thin handlers over the domain services."""

from console.web.convertors import register

# Before any route is made: every `{...:int}` in the app uses it.
register()
