"""MCP front end: Scenario's tool names over the same service layer as the REST API.

schemas.py       argument models (Scenario's field names) and their clean JSON Schemas
custom_arguments.py  post-generate-custom's arguments: modelId and the model's inputs (catalog/inputs.py)
descriptions.py  what each tool says to an agent
registration.py  spec -> SDK Tool; arguments checked here, errors worded like REST
tools.py         the fifteen tools
results.py       JSON text, image previews, errors
context.py       per-call context: services, transport, caller, progress, local files
server.py        build_server(services, transport)
http.py          /mcp over streamable HTTP behind the API keys (mount_mcp)
cli.py           `diffuserve mcp` over stdio
"""
