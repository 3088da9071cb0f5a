"""The approval service of Invite Users."""
