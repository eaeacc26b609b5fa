"""Domain errors. The API maps each one to an HTTP status in exactly one place (api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; ``code`` is the stable machine-readable error code."""

    code = "error"

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(DomainError):
    code = "configuration"


class ValidationFailed(DomainError):
    code = "invalid"


class TooLarge(ValidationFailed):
    """An upload over the size or row limit."""

    code = "too_large"


class UnsupportedFile(ValidationFailed):
    """An upload that is neither text nor a workbook."""

    code = "unsupported_media_type"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class WaveClosed(DomainError):
    code = "closed"


class OptedOut(DomainError):
    code = "opted_out"


class Erased(DomainError):
    code = "erased"


class TemporarilyUnavailable(DomainError):
    """A dependency throttled or timed out; the caller may retry."""

    code = "unavailable"
