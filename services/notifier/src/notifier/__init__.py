"""The notifier service of Invite Users."""
