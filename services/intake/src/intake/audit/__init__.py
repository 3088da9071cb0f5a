"""The auditors' side of intake: the history chain and its signed heads, verification, search, export, retention."""
