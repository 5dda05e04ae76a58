"""Read and check a flow, pure (no I/O but reading the file): strict YAML, schema, model, rules, the one loader, lint."""
