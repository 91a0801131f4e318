"""Persistence: typed models, engine/session set-up and the repository queries."""
