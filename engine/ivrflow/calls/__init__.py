"""What happens on a call, pure (no I/O): `step()`, the engine's events and actions, the call record."""
