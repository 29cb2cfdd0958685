"""Shortlist notify: delivers scores to webhook subscriptions with Standard Webhooks signatures."""
