"""The two kinds of failure a handler can raise, and how the consumer treats them."""


class PermanentError(Exception):
    """The record can never succeed: it goes to the dead-letter topic with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransientError(Exception):
    """The record may succeed later (a dependency is down, a job is not known yet): retried with backoff.

    After ``max_attempts`` tries (the consumer's setting when None) the record is dead-lettered with
    ``code``.
    """

    def __init__(self, code: str, message: str, max_attempts: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.max_attempts = max_attempts
