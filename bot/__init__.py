"""escape-bot: keeps Go code from silently growing heap allocations."""

__version__ = "0.1.0"
