"""The waitlist's data: the texts of its messages (texts.toml)."""
