"""Batch upload: a requester's spreadsheet of create-account requests, reviewed as a draft, then submitted at once."""
