"""The one accessor of the caller refuses with typed errors, never with an ``assert``."""

from __future__ import annotations

import uuid

import pytest

from auth.principal import Principal
from db.tables.user import Role
from resolvers.caller import CallerRefused, tenant_caller


def test_nobody_signed_in_is_unauthenticated() -> None:
    with pytest.raises(CallerRefused) as refused:
        tenant_caller(None)
    assert refused.value.extensions == {"code": "UNAUTHENTICATED"}


def test_the_token_problem_is_what_an_anonymous_caller_is_told() -> None:
    with pytest.raises(CallerRefused, match="expired"):
        tenant_caller(None, "The access token is invalid or expired.")


def test_an_operator_outside_a_tenant_is_forbidden() -> None:
    operator = Principal(uuid.uuid4(), uuid.uuid4(), tenant_id=None, role=None)
    with pytest.raises(CallerRefused) as refused:
        tenant_caller(operator)
    assert refused.value.extensions == {"code": "FORBIDDEN"}


def test_a_tenant_user_is_given_with_their_tenant() -> None:
    tenant = uuid.uuid4()
    customer = tenant_caller(Principal(uuid.uuid4(), uuid.uuid4(), tenant, Role.CUSTOMER))
    staff = tenant_caller(Principal(uuid.uuid4(), uuid.uuid4(), tenant, Role.STAFF))
    assert customer.tenant_id == tenant and not customer.is_staff
    assert staff.is_staff and staff.user_id == staff.subject_id


def test_an_operator_acting_in_a_tenant_is_no_tenant_user() -> None:
    tenant, operator = uuid.uuid4(), uuid.uuid4()
    acting = tenant_caller(Principal(uuid.uuid4(), uuid.uuid4(), tenant, Role.ADMIN, operator_id=operator))
    assert acting.tenant_id == tenant and acting.user_id is None and acting.is_staff
