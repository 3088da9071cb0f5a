"""How much one person may do: rate limits on costly actions, and quotas on the requests a requester holds."""
