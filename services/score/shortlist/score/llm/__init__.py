"""The LLM scorer: an OpenAI-compatible endpoint behind retries, rate limits, a cache and quote checks."""
