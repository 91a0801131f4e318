"""Protections for people at risk: encryption at rest, proxies, OpenPGP."""
