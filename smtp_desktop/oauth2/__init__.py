"""OAuth2 for SMTP logins: provider endpoints, the token endpoint, refresh before a send.

No Qt here. Heavy modules (authlib, urllib) are imported where used.
"""
