"""Notifier's adapters to systems outside it: the SMTP mailer."""
