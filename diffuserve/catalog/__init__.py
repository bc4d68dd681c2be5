"""The catalog: what can be asked for, without torch. Request types, the model registry, the demo models' entries,
limits, validation, scheduler names and batch keys; the front ends (api, mcp, service, cli help) and the worker
share it."""
