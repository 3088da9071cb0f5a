"""Invite requests: what a requester asks for and how approvers decide on it."""
