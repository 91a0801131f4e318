"""The one exception tree of rightswatch.

RightswatchError
├── ConfigError        the YAML or the environment is wrong; carries every problem found
├── FetchError         a feed could not be fetched (network, HTTP status, size, timeout)
│   ├── FetchStatusError   the server answered with an error status (maybe a Retry-After)
│   └── HostBusyError      the host has no free request slot now: a deferral, not a failure
├── ParseError         a feed body is not a feed we can read
├── StoreError         a poll's entries could not be processed or stored
└── DeliveryError      an alert could not be sent; `retryable` says whether to try again
    └── UnsafeDestinationError   a webhook points at a private or internal address

Third-party exceptions are translated at the boundary with ``raise … from e`` so
callers only ever need to catch these.
"""

from __future__ import annotations

from dataclasses import dataclass


class RightswatchError(Exception):
    """Root of every error rightswatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file, located for a human."""

    path: str
    line: int | None
    where: str
    """Key path such as ``watchlists[0].feeds[1]``; empty for the whole file."""
    message: str

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}" if self.line is not None else self.path
        return (
            f"{location}: {self.where}: {self.message}"
            if self.where
            else f"{location}: {self.message}"
        )


class ConfigError(RightswatchError):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[ConfigProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(path="", line=None, where="", message=problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FetchError(RightswatchError):
    """A feed could not be fetched."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FetchStatusError(FetchError):
    """The server answered with an error status; it may have said when to come back."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class HostBusyError(FetchError):
    """The feed's host already has as many requests in flight as it may: try again soon."""


class ParseError(RightswatchError):
    """A fetched body is not a feed."""


class StoreError(RightswatchError):
    """A feed's entries could not be processed or stored (a bug, or the database refused
    them): recorded on the feed like a fetch error, so it shows and is retried."""


class DeliveryError(RightswatchError):
    """An alert could not be delivered."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        """HTTP status or SMTP reply code, when the receiver answered."""


class UnsafeDestinationError(DeliveryError):
    """A webhook URL resolves to an address we refuse to call."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
