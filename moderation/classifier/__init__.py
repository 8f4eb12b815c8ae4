"""The trained classifier: per-category probabilities for a comment."""
