"""Builds the LLM scorer from the settings: Redis-backed limits and cache when ``SHORTLIST_REDIS_URL`` is set."""

import logging
import math

import openai
from httpx2 import Limits
from redis.asyncio import Redis

from shortlist.score.config import Settings
from shortlist.score.llm.cache import LocalCache, RedisCache, ResponseCache
from shortlist.score.llm.client import LlmClient
from shortlist.score.llm.metrics import initialise
from shortlist.score.llm.prompts import PROMPT_VERSION
from shortlist.score.llm.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter
from shortlist.score.llm.retries import RetryPolicy
from shortlist.score.llm.scorer import LlmScorer
from shortlist.score.scorers.base import Thresholds

CONNECTIONS_PER_CLIENT = 32


def create_llm_scorer(settings: Settings, defaults: Thresholds) -> LlmScorer:
    # One line per HTTP call at INFO would drown the service's own logs.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # aiohttp as the HTTP transport: its C parser takes about a quarter less CPU per call than the default one
    # (docs/benchmarks.md, bench-score). Pools stay at 32 connections per client, each kept alive.
    shards = max(1, math.ceil(settings.llm_max_concurrency / CONNECTIONS_PER_CLIENT))
    connections = math.ceil(settings.llm_max_concurrency / shards)
    clients = [
        openai.AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.openai_api_key or "not-needed",
            max_retries=0,
            timeout=settings.llm_timeout_seconds,
            http_client=openai.DefaultAioHttpClient(
                limits=Limits(max_connections=connections, max_keepalive_connections=connections)
            ),
        )
        for _ in range(shards)
    ]
    limiter: RateLimiter
    cache: ResponseCache
    redis: Redis | None = None
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        limiter = RedisRateLimiter(
            redis,
            f"{settings.llm_base_url or 'openai'}:{settings.llm_model}",
            settings.llm_requests_per_minute,
            settings.llm_tokens_per_minute,
            settings.llm_burst_seconds,
        )
        cache = RedisCache(redis, settings.llm_cache_ttl_seconds)
    else:
        limiter = LocalRateLimiter(
            settings.llm_requests_per_minute, settings.llm_tokens_per_minute, settings.llm_burst_seconds
        )
        cache = LocalCache(settings.llm_cache_size, settings.llm_cache_ttl_seconds)
    llm = LlmClient(
        clients,
        settings.llm_model,
        PROMPT_VERSION,
        limiter,
        cache,
        max_concurrency=settings.llm_max_concurrency,
        max_output_tokens=settings.llm_max_output_tokens,
        policy=RetryPolicy(
            timeout_seconds=settings.llm_timeout_seconds,
            max_attempts=settings.llm_max_attempts,
            initial_seconds=settings.llm_backoff_initial_seconds,
            max_seconds=settings.llm_backoff_max_seconds,
        ),
    )
    initialise(settings.llm_model, settings.llm_price_per_1k_input_tokens, settings.llm_price_per_1k_output_tokens)
    scorer = LlmScorer(llm, defaults, settings.llm_budget_seconds, settings.llm_record_attempts)
    scorer.closers.extend(client.close for client in clients)
    if redis is not None:
        scorer.closers.append(redis.aclose)
    return scorer
