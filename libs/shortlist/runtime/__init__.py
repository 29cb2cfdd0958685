"""Runtime shared by every Shortlist service."""
