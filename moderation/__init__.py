"""Comment moderation for news sites: rules, classifier, review queue."""

__version__ = "0.1.0"
