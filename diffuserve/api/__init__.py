"""HTTP front end: routes per resource, wire schemas for the docs, auth, and the one error mapping."""
