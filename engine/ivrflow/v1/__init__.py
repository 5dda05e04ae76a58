"""Telesign's one-request IVR: compile a flow to v1 form fields, play them as Telesign does, what the caller chose."""
