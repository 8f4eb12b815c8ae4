"""What happens to a comment around its verdict: submission, the review queue, reader reports,
moderators' decisions, actions on authors, reapplying rules, statistics, and the audit log with
its webhook outbox (``audit``) and the worker that delivers it (``webhooks``)."""
