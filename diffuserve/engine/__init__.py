"""The engine: turns a GenerationRequest into images with diffusers. Knows nothing of HTTP, SQL or queues."""
