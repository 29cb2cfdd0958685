"""A small client of the ingest REST API."""

import mimetypes
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
}


class ApiError(Exception):
    """An error answered by a service (``{"error": {"code", "message"}}``) or a failed connection."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.code}{status}: {self.message}"


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class IngestClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "IngestClient":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ApiError(
                "unreachable", f"nothing answers at {self.base_url}; is the stack up (shortlist up)?"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError("http_error", f"{type(exc).__name__} talking to {self.base_url}: {exc}") from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            error = response.json()["error"]
            raise ApiError(str(error["code"]), str(error["message"]), response.status_code)
        except (ValueError, KeyError, TypeError):
            raise ApiError("http_error", response.text[:300] or response.reason_phrase, response.status_code) from None

    def create_job(self, title: str, description: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/v1/jobs", json={"title": title, "description": description})
        return result

    def get_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/jobs/{job_id}")
        return result

    def submit(self, job_id: str, path: Path, candidate_name: str | None = None) -> dict[str, Any]:
        data = {"job_id": job_id}
        if candidate_name:
            data["candidate_name"] = candidate_name
        with path.open("rb") as content:
            files = {"file": (path.name, content, content_type(path))}
            result: dict[str, Any] = self._request("POST", "/v1/applications", data=data, files=files)
        return result

    def application(self, application_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/applications/{application_id}")
        return result

    def ranking(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/jobs/{job_id}/ranking")
        return result

    def redrive(self, older_than_seconds: float | None = None) -> dict[str, Any]:
        params = {} if older_than_seconds is None else {"older_than_seconds": older_than_seconds}
        result: dict[str, Any] = self._request("POST", "/v1/redrive", params=params)
        return result
