"""The machine verdict: an ordered list of phases and the one function that runs them.

Submission, ``POST /api/v1/score``, ``flask score`` and ``flask rules reapply`` all call
:meth:`Pipeline.run`; nothing else decides a comment's status. (A moderator's decision is
``moderation.workflow.decisions``, a different thing.)
"""

from .context import CommentContext, Finding
from .parallel import ParallelPipeline, available_cores
from .phases import PHASES, ContributionScorer, Scorer
from .run import Pipeline

__all__ = [
    "PHASES",
    "CommentContext",
    "ContributionScorer",
    "Finding",
    "ParallelPipeline",
    "Pipeline",
    "Scorer",
    "available_cores",
]
