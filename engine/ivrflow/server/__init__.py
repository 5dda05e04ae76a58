"""The Starlette app around `step()`: webhook, v1 callbacks, calls API, writer thread, metrics, logs, workers."""
