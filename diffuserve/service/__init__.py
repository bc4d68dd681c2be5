"""The service layer: what the REST API (`api/`) and the MCP tools (`mcp/`) both call.

Every method takes plain values and returns wire-shaped dicts (camelCase, exactly the REST response bodies
of spec §2-§4), and raises only the domain errors of `diffuserve.errors` (InvalidRequest, NotFound, Conflict).
One `Services` is built by `app.py`'s container in the lifespan and handed down (FastAPI dependency, MCP
lifespan).

    class Services:
        inference: InferenceService
            def submit(self, mode: Mode, body: Mapping[str, Any], *, dry_run: bool = False,
                       original_assets: bool = False, author_id: str | None = None) -> tuple[int, dict]
                # (200, {"job", "inference", "creativeUnitsCost"}) or, dry run, (269, {"creativeUnitsCost"}).
                # Validates fully (engine.validate) BEFORE creating any asset or job;
                # raises InvalidRequest / NotFound.
        jobs: JobService
            def get(self, job_id: str) -> dict                      # {"job": Job}
            def list(self, *, status=None, type=None, types=None, page_size=10, pagination_token=None,
                     hide_results=None) -> dict                     # {"jobs": [Job], "nextPaginationToken"?}
            def cancel(self, job_id: str) -> dict                   # {"job": Job}; Conflict if terminal
            async def wait(self, job_id: str, *, timeout_s: float,
                           on_progress: Callable[[float, str], Awaitable[None]] | None = None) -> dict
                # {"job": Job} once terminal, or as it stands when timeout_s runs out;
                # on_progress(progress, status) is awaited on every change
            def previews(self, job_id: str) -> list[str]            # signed URLs of the latest previews
        assets: AssetService
            def upload(self, body: Mapping[str, Any]) -> dict       # POST /assets body (name, image:
                                                                    # base64 or data URL, hide, parentId)
                                                                    # -> {"asset": Asset}
            def get(self, asset_id: str, *, original_assets: bool = False) -> dict   # {"asset": Asset}
            def list(self, **filters) -> dict                       # {"assets": [Asset], ...}
                # filters: the GET /assets query names (inferenceId, modelId, parentAssetId, rootAssetId,
                # authorId, type, types, sortBy, sortDirection, pageSize, paginationToken, originalAssets)
            def delete(self, asset_ids: list[str]) -> dict          # {}
            def read(self, asset_id: str) -> tuple[bytes, str]      # (bytes, mime type)
        models: ModelService
            def list(self) -> dict                                  # {"models": [Model]}
            def get(self, model_id: str) -> dict                    # {"model": Model}, with its `inputs`
        uploads: UploadService                                      # Scenario's multipart uploads
            def create(self, body, *, author_id=None, dry_run=False) -> tuple[int, dict]
                # POST /uploads body (fileName, contentType, fileSize, kind, parts, assetOptions)
                # -> (200, {"upload": Upload with parts[{number, url, expires}]}) or (269, {"creativeUnitsCost"})
            def put_part(self, upload_id: str, number: int, data: bytes) -> str   # the part's ETag
            def get(self, upload_id: str) -> dict                   # {"upload": Upload}
            def action(self, upload_id: str, body) -> dict          # {"action": "complete"} -> complete()
            def complete(self, upload_id: str) -> dict              # {"upload": Upload}, imported, entityId
                # = the new asset; a file that is no PNG/JPEG/WebP image fails the upload (InvalidRequest)
        downloads: DownloadService
            def request(self, asset_id: str, body=None) -> dict     # POST /assets/{id}/download
                                                                    # (targetFormat?) -> {"url", "mimeType"}
            def render(self, asset_id: str, fmt: str) -> tuple[bytes, str]   # the image in another format

    custom_generation.submit_custom(inference, model_id, body, *, dry_run=False, original_assets=False,
                                    author_id=None) -> tuple[int, dict]
        # POST /generate/custom/{modelId}: the body's inputs (the model's `inputs`, unknown names a 400) pick the
        # mode (image: img2img, + mask: inpaint, ipAdapterImages: -ip-adapter), then `inference.submit`.

Decisions that both front ends share:
- Asset and preview URLs are signed (HMAC-SHA256 over path and expiry, `Settings.url_ttl_s`) and served by
  the app without credentials: `/v1/assets/{assetId}/content?expires=..&sig=..`; so are upload part URLs
  (`PUT /v1/uploads/{uploadId}/parts/{n}`, expiring with the upload) and other formats of an asset
  (`/v1/assets/{assetId}/content/{format}`).
- Intermediate images: while a job runs with `intermediateImages: true`,
  `job.metadata.output.intermediateImages` holds signed URLs of the latest previews (also
  `JobService.previews`); they are dropped when the job ends.
- `inferenceId` of an output asset is the job id (the new API has no separate inference id).
- `originalAssets` is accepted and changes nothing: every URL already serves the original, untransformed file.
"""
