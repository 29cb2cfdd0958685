"""Shortlist score: turns the evidence of ``CvEmbedded`` into an explainable ``CvScored``."""
