"""Data files shipped with Reframe: the question library."""
