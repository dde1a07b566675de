"""annotation layer."""
