"""Approval's adapters to systems outside it: the account directory and SEED device enrolment."""
