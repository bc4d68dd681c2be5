"""Jobs: the queue protocol, the in-process queue and the worker that runs a job through the engine."""
