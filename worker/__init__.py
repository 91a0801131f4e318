"""rightswatch: alerting worker for human-rights monitoring."""

__version__ = "0.1.0"
