"""Shared plumbing of Invite Users: message contracts, broker topology, outbox, consumers, config."""
