"""Intake's JSON API under /api/v1: one flask-smorest blueprint per resource."""
