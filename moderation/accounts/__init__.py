"""Who may use the service: API keys for sites, moderator accounts and their log-in sessions."""
