"""The self-service HTTP API: public watch lists, subscriptions with double opt-in and
one-click unsubscribe, operator endpoints, health and metrics (``rightswatch api``)."""
