"""The container of services handed to the front ends (built by app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from diffuserve.service.assets import AssetService
from diffuserve.service.downloads import DownloadService
from diffuserve.service.imagepipeline import ImagePipelineService
from diffuserve.service.inference import InferenceService
from diffuserve.service.jobs import JobService
from diffuserve.service.keys import KeyService
from diffuserve.service.models import ModelService
from diffuserve.service.signing import UrlSigner
from diffuserve.service.uploads import UploadService


@dataclass(frozen=True)
class Services:
    """Everything `api/` and `mcp/` call; see the package docstring for the contract."""

    inference: InferenceService
    jobs: JobService
    assets: AssetService
    models: ModelService
    keys: KeyService
    imagepipeline: ImagePipelineService
    signer: UrlSigner
    uploads: UploadService
    downloads: DownloadService
    # Serve without credentials (Settings.open_mode, loopback only).
    open_mode: bool = False
    # Unknown body fields are a 400 instead of a warning (Settings.strict_fields).
    strict_fields: bool = False
