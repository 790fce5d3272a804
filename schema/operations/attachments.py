"""Attachment fields: the tenant's gallery, and changing or deleting a file (STAFF and up).

Files are uploaded with ``POST /files`` (``web/files.py``); they are read through
the ``attachments`` field of what they belong to, or ``gallery``.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.tables import Role
from resolvers import attachments as resolve
from resolvers.attachments import AttachmentChanges
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.errors import errors_as_data
from schema.node import pk_of, to_global_id
from schema.pagination import Connection, paginated, to_connection
from schema.permissions import role_at_least, signed_in_user
from schema.types.attachment import Attachment
from schema.types.attachment_inputs import (
    AttachmentSuccess,
    DeleteAttachmentInput,
    DeleteAttachmentResult,
    DeleteAttachmentSuccess,
    UpdateAttachmentInput,
    UpdateAttachmentResult,
)

InputArg = strawberry.argument(description="What to do; see the input type.")


@strawberry.type
class AttachmentQuery:
    @strawberry.field(
        description="Your tenant's gallery, by position, then oldest first. Upload to it with "
        "`POST /files?owner=gallery`.",
        extensions=signed_in_user(),
    )
    @paginated
    async def gallery(self, info: Info, paging: PageArgs) -> Connection[Attachment]:
        context = info.context
        page = await resolve.list_gallery(context, context.caller(), paging)
        return to_connection(page, Attachment.from_row)


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(
        description="Change an attachment's caption, position or (gallery items) public flag (STAFF and up).",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def update_attachment(
        self, info: Info, input: Annotated[UpdateAttachmentInput, InputArg]
    ) -> UpdateAttachmentResult:
        changes = AttachmentChanges(caption=input.caption, position=input.position, is_public=input.is_public)
        context = info.context
        row = await resolve.update_attachment(
            context, context.caller(), pk_of(input.id, "Attachment"), changes
        )
        return AttachmentSuccess(attachment=Attachment.from_row(row))

    @strawberry.mutation(
        description="Delete an attachment (STAFF and up); its links stop working at once.",
        extensions=role_at_least(Role.STAFF),
    )
    @errors_as_data
    async def delete_attachment(
        self, info: Info, input: Annotated[DeleteAttachmentInput, InputArg]
    ) -> DeleteAttachmentResult:
        context = info.context
        deleted = await resolve.delete_attachment(context, context.caller(), pk_of(input.id, "Attachment"))
        return DeleteAttachmentSuccess(deleted_id=to_global_id("Attachment", deleted))
