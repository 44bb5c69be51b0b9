"""The one error base class: a :class:`TopicfitError` is a user's mistake or a missing resource, and its
message says what was expected and how to fix it. ``topicfit`` reports it in one line (with the traceback
under ``-v``); any other exception is a bug and keeps its traceback.
"""


class TopicfitError(ValueError):
    """Base of every error topicfit raises on purpose (a ``ValueError``, so older ``except ValueError`` still works)."""


class DataError(TopicfitError):
    """Input data is missing or malformed; the message names the file, row and what was expected."""


class RunError(TopicfitError):
    """A run folder is missing, unfinished or not a topicfit run."""


class ModelError(TopicfitError):
    """A model could not be found or loaded; the message says what to do."""


class ConfigError(TopicfitError):
    """A setting is unknown or out of range; the message lists the valid ones."""
