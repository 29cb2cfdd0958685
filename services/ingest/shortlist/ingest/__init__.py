"""Shortlist ingest: jobs and applications API, CV text extraction, application status read model."""
