"""API keys of the e2e stack: one with every scope, and for each scope one with only it and one with all others."""

import secrets

SCOPES = (
    "jobs:read",
    "jobs:write",
    "applications:read",
    "applications:write",
    "candidates:write",
    "search:read",
    "subscriptions:read",
    "subscriptions:write",
)
_RUN = secrets.token_hex(6)
FULL_KEY = f"sk_e2e_full_{_RUN}"
ONLY = {scope: f"sk_e2e_only_{i}_{_RUN}" for i, scope in enumerate(SCOPES)}
EXCEPT = {scope: f"sk_e2e_except_{i}_{_RUN}" for i, scope in enumerate(SCOPES)}


def api_keys_spec() -> str:
    """``SHORTLIST_API_KEYS`` for the stack; the first entry (every scope) is the one clients send by default."""
    entries = [FULL_KEY]
    entries += [f"{ONLY[scope]}:{scope}" for scope in SCOPES]
    entries += [f"{EXCEPT[scope]}:{' '.join(s for s in SCOPES if s != scope)}" for scope in SCOPES]
    return ",".join(entries)
