"""The outbox: every message (alert, digest, confirmation, ping, operator alert) is a row
claimed, sent through a notifier and recorded by one state machine."""
