"""The config service: model, JavaMail keys catalogue, validation, persistence and secrets.

Plain Python with no Qt, usable from the CLI, the window and tests alike.
"""
