"""aiosmtpd-based SMTP server fixtures (filled by the transport work)."""
