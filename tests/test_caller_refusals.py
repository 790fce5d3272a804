"""The caller accessors refuse with typed errors, and still do under ``python -O``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from auth.principal import Principal
from db.tables.user import Role
from resolvers.caller import CallerRefused, platform_operator, signed_in, tenant_caller

ROOT = Path(__file__).resolve().parent.parent


def user(role: Role = Role.CUSTOMER) -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), role)


def operator() -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), None, None)


def test_signed_in_gives_users_and_operators_and_refuses_nobody() -> None:
    for someone in (user(), operator()):
        assert signed_in(someone) is someone
    with pytest.raises(CallerRefused) as refused:
        signed_in(None, "The access token is invalid or expired.")
    assert (refused.value.code, refused.value.message) == (
        "UNAUTHENTICATED",
        "The access token is invalid or expired.",
    )


def test_platform_operator_refuses_tenant_users_and_operators_acting_in_a_tenant() -> None:
    outside = operator()
    assert platform_operator(outside) is outside
    acting = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), Role.ADMIN, operator_id=uuid.uuid4())
    for someone in (user(Role.ADMIN), acting):
        with pytest.raises(CallerRefused) as refused:
            platform_operator(someone)
        assert refused.value.extensions == {"code": "FORBIDDEN"}
    with pytest.raises(CallerRefused) as refused:
        platform_operator(None)
    assert refused.value.extensions == {"code": "UNAUTHENTICATED"}


PROBE = textwrap.dedent(
    """
    import json, uuid
    from auth.principal import Principal
    from resolvers.caller import CallerRefused, platform_operator, signed_in, tenant_caller

    operator = Principal(uuid.uuid4(), uuid.uuid4(), None, None)
    user = Principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), None)
    codes = {"optimized": not __debug__}
    for name, call in {
        "tenant_caller(None)": lambda: tenant_caller(None),
        "tenant_caller(operator)": lambda: tenant_caller(operator),
        "signed_in(None)": lambda: signed_in(None),
        "platform_operator(user)": lambda: platform_operator(user),
    }.items():
        try:
            call()
            codes[name] = None
        except CallerRefused as refused:
            codes[name] = refused.extensions["code"]
    print(json.dumps(codes))
    """
)


def test_refusals_hold_under_python_dash_o() -> None:
    result = subprocess.run(
        [sys.executable, "-O", "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == {
        "optimized": True,
        "tenant_caller(None)": "UNAUTHENTICATED",
        "tenant_caller(operator)": "FORBIDDEN",
        "signed_in(None)": "UNAUTHENTICATED",
        "platform_operator(user)": "FORBIDDEN",
    }


def test_the_caller_carries_its_visibility() -> None:
    customer = tenant_caller(user())
    assert not customer.is_staff and customer.visibility.user_id == customer.user_id
    assert not customer.visibility.sees_holders
    assert tenant_caller(user(Role.STAFF)).visibility.sees_holders
