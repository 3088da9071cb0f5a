"""What the benchmark scripts share, built over tests/support: CPU read from /proc, the figures, the system under load."""
