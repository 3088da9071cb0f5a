"""The approvers' side of intake: the queue of requests waiting for them, what to know before deciding, the digest."""
