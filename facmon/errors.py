"""Errors that are the user's to fix: the CLI prints them without a traceback."""


class FacmonError(Exception):
    """A user mistake or an unusable environment, explained in the message."""
