"""The resolver ``Info`` type, bound to Rigbook's context."""

from __future__ import annotations

import strawberry

from auth.context import Context

Info = strawberry.Info[Context, None]
