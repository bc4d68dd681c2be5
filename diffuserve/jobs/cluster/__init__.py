"""The job system across processes and machines: Celery on Redis dispatches work, Redis carries events, cancel
requests and worker heartbeats, and the jobs table (PostgreSQL) decides, under leases, who runs what."""
