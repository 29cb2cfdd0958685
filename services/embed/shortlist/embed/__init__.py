"""Shortlist embed: CV chunks and job requirements in Qdrant, evidence per requirement."""
