"""A private D-Bus + gnome-keyring Secret Service fixture (filled by the keyring work)."""
