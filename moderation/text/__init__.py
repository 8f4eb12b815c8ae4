"""Text utilities under the rules and the classifier: folding with a map back to the original
offsets (``normalize``), disguise-tolerant word matching (``wordmatch``) and cheap text
statistics (``textstats``)."""
