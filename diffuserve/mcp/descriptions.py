"""The tools' descriptions, written for an agent choosing among them: purpose, when to use which, behaviour,
what comes back, errors, and how the parameters interact."""

from __future__ import annotations

from diffuserve.catalog.types import Mode
from diffuserve.mcp.results import MAX_PREVIEWS, PREVIEW_PX
from diffuserve.mcp.schemas import DEFAULT_WAIT_S

_TIMING = (
    "Roughly: on a GPU an SD 1.5 image at 512 px with 30 steps takes 1-5 s and an SDXL image at 1024 px "
    "5-15 s; the tiny demo models take about a second even on CPU; the first call for a model adds its load "
    "time (seconds to a minute); on CPU real models take minutes."
)

_BEHAVIOUR = (
    "BEHAVIOUR: queues a job on this server's GPU worker (jobs run one at a time, so it may wait behind "
    f"others), then waits up to waitSeconds (default {DEFAULT_WAIT_S:g}) sending progress notifications. "
    f"{_TIMING} Creates one job and numSamples output assets; inline or file input images are stored as "
    "assets too. Not idempotent: every call makes a new job. If a call timed out or returned a running job, "
    "do NOT call it again (that queues a duplicate); call get-job-id with its jobId. After an error result "
    "nothing was created, so fixing the arguments and calling again is safe. dryRun=true validates and prices "
    "the request without creating anything."
)

_RETURNS = (
    "RETURNS: a text block with JSON {job, creativeUnitsCost, images: [{assetId, url, width, height}], next} "
    f"followed by up to {MAX_PREVIEWS} downscaled image previews (at most {PREVIEW_PX} px, as MCP image "
    "content). `url` is a signed link to the full-size PNG (valid 24 h by default, no credentials needed); "
    "assetId can be passed as `image`, `mask` or `ipAdapterImages` to the other tools. job.metadata.input "
    "holds every resolved setting, including the seed used. If the job is still running when waitSeconds runs "
    "out: the job's id, status and progress and no images; call get-job-id. With dryRun: {creativeUnitsCost}."
)

_ERRORS = (
    "ERRORS (isError results, same reason and message as the REST API): invalid_request (a value out of "
    "range, e.g. width not a multiple of 8, or a rule broken; the message says what is allowed), "
    "missing_field, unsupported_capability (the model cannot run this mode; pick another from get-models), "
    "model_not_found / asset_not_found, invalid_image (not a decodable PNG/JPEG/WebP), job_failed (the "
    "generation itself failed; the message is the job's error)."
)

_PURPOSE: dict[Mode, str] = {
    Mode.TXT2IMG: (
        "Generate new images from a text prompt alone (text-to-image) with a Stable Diffusion model on this "
        "diffuserve server.\n\nUSE WHEN there is no input picture. To steer the look with reference pictures "
        "use post-txt2img-ip-adapter-inferences; to change an existing picture use post-img2img-inferences; to "
        "change only part of it use post-inpaint-inferences."
    ),
    Mode.TXT2IMG_IP_ADAPTER: (
        "Generate new images from a text prompt guided by one or more reference images (IP-Adapter): "
        "ipAdapterType=style borrows their colors, medium and mood, ipAdapterType=character keeps the identity "
        "of a person or character.\n\nUSE WHEN the result should look like the references but its composition "
        "should come from the prompt. The references are not edited; to transform a given picture use "
        "post-img2img-inferences (or post-img2img-ip-adapter-inferences to also apply a reference style)."
    ),
    Mode.IMG2IMG: (
        "Transform an existing image according to a text prompt (image-to-image): the whole picture is "
        "repainted, keeping its composition and colors to a degree set by `strength`.\n\nUSE WHEN the user "
        "wants a variation, restyle or clean-up of a whole picture. Use post-inpaint-inferences instead to "
        "change only one region (everything outside the mask stays), post-img2img-ip-adapter-inferences to "
        "restyle after reference images, post-txt2img-inferences when there is no input picture."
    ),
    Mode.IMG2IMG_IP_ADAPTER: (
        "Transform an existing image according to a text prompt AND one or more reference images "
        "(image-to-image with IP-Adapter), e.g. 'repaint this photo in the style of these paintings'.\n\n"
        "USE WHEN both an input picture and style/character references are given. Without references use "
        "post-img2img-inferences; to change only a region use post-inpaint-ip-adapter-inferences."
    ),
    Mode.INPAINT: (
        "Repaint only the masked region of an image from a text prompt (inpainting): white mask pixels are "
        "replaced, black ones are kept.\n\nUSE WHEN one part of a picture must change (remove or replace an "
        "object, fix a face, extend a background) and the rest must stay. To restyle the whole picture use "
        "post-img2img-inferences; to also follow reference images use post-inpaint-ip-adapter-inferences."
    ),
    Mode.INPAINT_IP_ADAPTER: (
        "Repaint only the masked region of an image from a text prompt, guided by reference images "
        "(inpainting with IP-Adapter), e.g. 'put this character (reference) into the white area'.\n\nUSE WHEN "
        "a region must change AND should look like given references. Without references use "
        "post-inpaint-inferences; to repaint the whole picture use post-img2img-ip-adapter-inferences."
    ),
}

_IMAGE_RULES = (
    "`image`, `mask` and `ipAdapterImages` take a data URL, an asset id (asset_...), or - only over stdio - an "
    "absolute local file path; over HTTP upload a file with post-asset first."
)

_SAMPLES = " numSamples defaults to 4 (as over REST); ask for 1 when one image will do."
_PARAMETERS: dict[Mode, str] = {
    Mode.TXT2IMG: (
        "PARAMETERS: only modelId and prompt are required; the model family sets the default size (512 px "
        "SD 1.5, 1024 px SDXL) and guidance. numSamples defaults to 4 as in Scenario's API; ask for 1 to keep calls "
        "short and responses small. seed makes a result reproducible."
    ),
    Mode.TXT2IMG_IP_ADAPTER: (
        "PARAMETERS: modelId, prompt and ipAdapterImages are required. ipAdapterScales gives one influence per "
        "reference image in the same order (0-1, default 0.9; one number applies to all); lower it (0.3-0.6) "
        "when the prompt should matter more. " + _IMAGE_RULES + _SAMPLES
    ),
    Mode.IMG2IMG: (
        "PARAMETERS: modelId, prompt and image (or imageId) are required. strength (default 0.75) is how much is "
        "repainted: 0.3 light touch-up, 0.75 restyle, 1.0 ignores the input; only strength x numInferenceSteps "
        "steps run. The output keeps the input's size unless width/height are given. " + _IMAGE_RULES + _SAMPLES
    ),
    Mode.IMG2IMG_IP_ADAPTER: (
        "PARAMETERS: modelId, prompt, image and ipAdapterImages are required. strength (default 0.75) is how "
        "much of `image` is repainted; ipAdapterScales gives one influence per reference image (0-1, default "
        "0.9). A mask (optional) keeps the change inside its white area. " + _IMAGE_RULES + _SAMPLES
    ),
    Mode.INPAINT: (
        "PARAMETERS: modelId, prompt, image and mask are required. The mask is black and white with the same "
        "aspect as the image: WHITE = replace, BLACK = keep. strength (default 0.75) is how freely the white "
        "area is repainted (1.0 ignores what was there). disableMerging=false (default) copies the unmasked "
        "pixels back unchanged. " + _IMAGE_RULES + _SAMPLES
    ),
    Mode.INPAINT_IP_ADAPTER: (
        "PARAMETERS: modelId, prompt, image, mask and ipAdapterImages are required. Mask: WHITE = replace, "
        "BLACK = keep. strength (default 0.75) is how freely the white area is repainted; ipAdapterScales gives "
        "one influence per reference image (0-1, default 0.9). " + _IMAGE_RULES + _SAMPLES
    ),
}


def generate_description(mode: Mode) -> str:
    return "\n\n".join((_PURPOSE[mode], _PARAMETERS[mode], _BEHAVIOUR, _RETURNS, _ERRORS))


GET_JOB = (
    "Read a generation job by id, optionally waiting for it to finish, and return its images once it has.\n\n"
    "USE WHEN a generate tool answered before its job ended (waitSeconds ran out or was 0), to check a job from "
    "get-jobs, or to see intermediate previews (intermediateImages=true). Read-only and safe to call "
    "repeatedly.\n\n"
    f"BEHAVIOUR: returns at once if the job has ended; otherwise waits up to waitSeconds (default "
    f"{DEFAULT_WAIT_S:g}) sending progress notifications. Waiting does not affect the job.\n\n"
    "RETURNS: JSON {job: {jobId, status (queued | warming-up | in-progress | finalizing | success | failure | "
    "canceled), progress 0-1, metadata: {input, output, assetIds}, statusHistory, ...}, images, next}. On "
    f"success also up to {MAX_PREVIEWS} previews (at most {PREVIEW_PX} px) as image content and the "
    "full-size URLs in `images`. Still running: call again. failure: isError with reason job_failed and the "
    "job's error message.\n\nERRORS: job_not_found (unknown id)."
)

JOB_ACTION = (
    "Cancel a queued or running generation job.\n\nUSE WHEN the user no longer wants a job's result or a job "
    "was started by mistake (e.g. a duplicate). Only action=cancel exists.\n\n"
    "BEHAVIOUR: a queued job is canceled at once; a running one stops within one denoising step (the answer "
    "waits up to 10 s for that). A canceled job produces no assets. Irreversible: re-run the generate tool to "
    "start over. Calling it again on the same job fails with job_finished.\n\n"
    "RETURNS: JSON {job} with its new status (canceled; or success/failure if it ended first).\n\n"
    "ERRORS: job_not_found (unknown id), job_finished (the job already ended: nothing to cancel), "
    "invalid_request (action is not cancel)."
)

GET_JOBS = (
    "List generation jobs, newest first, optionally filtered by status, type or author.\n\nUSE WHEN looking "
    "for an earlier or still-running job (e.g. status='queued,in-progress' for unfinished ones) whose id was "
    "lost. For one known job use get-job-id; for the images themselves get-assets with inferenceId. Read-only.\n\n"
    "RETURNS: JSON {jobs: [Job], nextPaginationToken?}; pass nextPaginationToken back to read the next page. "
    "Each job's metadata.assetIds lists its output images.\n\nERRORS: invalid_request (unknown status, "
    "pageSize out of range), invalid_pagination_token."
)

GET_ASSET = (
    "Read one asset (an uploaded or generated image) by id: its metadata, a signed URL of the full-size file, "
    "and a small preview of the image.\n\nUSE WHEN you have an asset id (from a job's metadata.assetIds, "
    "get-assets or post-asset) and want to look at the image or hand its URL to the user. Read-only.\n\n"
    f"RETURNS: JSON {{asset: {{id, url, mimeType, properties: {{width, height, size}}, metadata, source, "
    f"parentId?, ...}}}} and, with includePreview=true (default), the image downscaled to at most "
    f"{PREVIEW_PX} px as image content. `url` needs no credentials and expires (24 h by default).\n\n"
    "ERRORS: asset_not_found."
)

GET_ASSETS = (
    "List assets (uploaded and generated images), newest first by default, with filters.\n\nUSE WHEN looking "
    "for images: the outputs of a job (inferenceId = the job id), everything made with a model (modelId), "
    "the descendants of an image (parentAssetId / rootAssetId), or only uploads (type='uploaded'). Assets "
    "created with hide/hideResults=true are left out. Read-only; returns metadata and URLs, no previews (use "
    "get-assets-by-asset-id to see one).\n\nRETURNS: JSON {assets: [Asset], nextPaginationToken?}.\n\n"
    "ERRORS: invalid_request (type together with types, unknown sortBy/sortDirection, pageSize out of "
    "range), invalid_pagination_token."
)

POST_ASSET = (
    "Upload an image as an asset, to reuse it by id as `image`, `mask` or `ipAdapterImages` in the generate "
    "tools.\n\nUSE WHEN the same picture will be used in several calls (pass its asset id instead of sending "
    "the data every time), or, over HTTP, to get a local file onto the server (encode it as a data URL). Over "
    "stdio a generate tool can also take the file path directly.\n\nBEHAVIOUR: stores one new asset each call "
    "(not idempotent; uploading twice makes two assets). No GPU work.\n\n"
    "RETURNS: JSON {asset: {id, url, mimeType, properties: {width, height, size}, ...}}.\n\n"
    "ERRORS: missing_field (name or image empty), invalid_image (not a PNG/JPEG/WebP, or not base64), "
    "image_too_large, file_not_found / local_path_not_allowed (local paths work over stdio only), "
    "asset_not_found (parentId)."
)

GET_MODELS = (
    "List the models this server can run, with their capabilities.\n\nUSE WHEN choosing a modelId for a "
    "generate tool: a model can run a tool only if its `capabilities` include that mode (txt2img, img2img, "
    "inpaint, txt2img_ip_adapter, img2img_ip_adapter, inpaint_ip_adapter). LoRA models (type *-lora) can be "
    "run directly or stacked with `concepts` on a model listed in their compliantModelIds. Read-only; "
    "no arguments.\n\nRETURNS: JSON {models: [{id, name, type (sd-1_5, sd-xl, sd-1_5-lora, ...), "
    "capabilities, compliantModelIds?, shortDescription?, ...}]}."
)

GET_MODEL = (
    "Read one model by id: its type, capabilities and compatible base models.\n\nUSE WHEN checking whether "
    "a known model id exists and which generate tools it supports; to discover ids use get-models. "
    "Read-only.\n\nRETURNS: JSON {model: {id, name, type, capabilities, compliantModelIds?, inputs, ...}}; "
    "`inputs` lists the arguments post-generate-custom takes for it ({name, type, default?, min?, max?, "
    "allowedValues?, description, ...}).\n\nERRORS: model_not_found."
)

GENERATE_CUSTOM = "\n\n".join(
    (
        "Generate images with any model by its own inputs (Scenario's generic generate, POST "
        "/generate/custom/{modelId}): modelId plus the inputs listed in the model's `inputs` "
        "(get-models-by-model-id). The inputs given pick the mode: `image` transforms a picture (img2img), "
        "`image` + `mask` repaints the white area (inpaint), `ipAdapterImages` adds reference-image guidance "
        "(the -ip-adapter variant), none of them generates from the prompt alone (txt2img).\n\nUSE WHEN "
        "following a Scenario workflow that calls models by their inputs, or when one tool for every mode is "
        "simpler; the post-*-inferences tools do the same per mode.",
        "PARAMETERS: modelId and prompt are required; every other argument is one of the model's inputs, with "
        "its default when left out (numSamples 4). An argument the model does not list is an error that names "
        "its inputs. strength, disableMerging, ipAdapterScales and ipAdapterType refine image, mask and "
        "ipAdapterImages and are ignored (with a warning) without them. " + _IMAGE_RULES,
        _BEHAVIOUR,
        _RETURNS,
        _ERRORS + " unknown_input (an argument that is not an input of the model; the message lists them).",
    )
)
