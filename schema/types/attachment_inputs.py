"""Inputs and results of the attachment mutations (uploading is ``POST /files``, ``web/files.py``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.attachments import MAX_CAPTION_LENGTH, MAX_POSITION
from schema.errors import NotFoundError, ValidationError
from schema.types.attachment import Attachment


@strawberry.input(description="Changes to an attachment; omitted fields stay as they are.")
class UpdateAttachmentInput:
    id: strawberry.ID = strawberry.field(description="The attachment to change.")
    caption: str | None = strawberry.field(
        default=None, description=f"New caption, at most {MAX_CAPTION_LENGTH} characters; empty to clear it."
    )
    position: int | None = strawberry.field(
        default=None, description=f"New place among its owner's files, 0 to {MAX_POSITION} (ascending)."
    )
    is_public: bool | None = strawberry.field(
        default=None, description="Gallery items only: true lets anyone view it through `publicUrl`."
    )


@strawberry.input(description="The attachment to delete.")
class DeleteAttachmentInput:
    id: strawberry.ID = strawberry.field(
        description="The attachment; its file and thumbnails are removed once the deletion is committed."
    )


@strawberry.type(description="The attachment as saved.")
class AttachmentSuccess:
    attachment: Attachment = strawberry.field(description="The attachment after the change.")


@strawberry.type(description="The attachment was deleted.")
class DeleteAttachmentSuccess:
    deleted_id: strawberry.ID = strawberry.field(description="The id of the deleted attachment.")


UpdateAttachmentResult = Annotated[
    AttachmentSuccess | ValidationError | NotFoundError,
    strawberry.union("UpdateAttachmentResult", description="The outcome of `updateAttachment`."),
]
DeleteAttachmentResult = Annotated[
    DeleteAttachmentSuccess | NotFoundError,
    strawberry.union("DeleteAttachmentResult", description="The outcome of `deleteAttachment`."),
]
