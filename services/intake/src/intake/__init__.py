"""The intake service of Invite Users."""
