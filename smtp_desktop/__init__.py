"""smtp-desktop: configure outgoing SMTP mail and prove it works."""

__version__ = "0.1.0"
