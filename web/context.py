"""From an HTTP request to the request's ``Context``: the bearer token, the client, the request id.

``tenant_id`` comes only from the verified token, never from anything else the client sends.
"""

from __future__ import annotations

from starlette.requests import Request

from auth.principal import Principal
from auth.services import Services
from auth.tokens import InvalidAccessToken
from resolvers.context import Context


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; ``""`` for any other header, ``None`` without one."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


def build_context(services: Services, request: Request) -> Context:
    """Verify the bearer token (if any) and build the request's context."""
    principal: Principal | None = None
    token_error: str | None = None
    token = bearer_token(request)
    if token is not None:
        try:
            principal = services.access_tokens.verify(token)
        except InvalidAccessToken:
            token_error = "The access token is invalid or expired."
    return Context(
        services=services,
        principal=principal,
        client_address=request.client.host if request.client else "unknown",
        request_id=getattr(request.state, "request_id", None),
        token_error=token_error,
    )
