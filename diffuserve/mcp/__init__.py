"""MCP front end: Scenario's tool names over the same service layer as the REST API, in two toolsets.

toolsets.py      the toolset names (default, scenario-api, full) and parsing a selection
task_schemas.py  `default`: the hosted server's task-level tools' arguments (snake_case), short descriptions
task_tools.py    `default`: model_schema_get, model_run, jobs_wait, job_get, jobs_list, job_cancel; task_tools()
task_assets.py   `default`: asset_display, asset_get, asset_download, upload_asset, upload_asset_complete
task_search.py   `default`: search over models, assets and jobs
task_results.py  `default`: compact snake_case rows of jobs, assets and models
schemas.py       `scenario-api`: argument models (Scenario's REST field names) and their clean JSON Schemas
custom_arguments.py  post-generate-custom's arguments: modelId and the model's inputs (catalog/inputs.py)
descriptions.py  `scenario-api`: what each tool says to an agent
tools.py         `scenario-api`: the fifteen tools named after Scenario's REST operations
registration.py  spec -> SDK Tool; arguments checked here, errors worded like REST
results.py       JSON text, image previews, errors
context.py       per-call context: services, transport, caller, progress, local files
server.py        build_server(services, transport, toolsets)
http.py          /mcp over streamable HTTP behind the API keys (mount_mcp)
cli.py           `diffuserve mcp` over stdio
"""
