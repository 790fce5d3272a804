"""Operations and helpers for enquiry tests."""

from __future__ import annotations

from typing import Any

from tests.api import Api

ENQUIRY_FIELDS = (
    "id status name email phone eventDate eventEndDate venue guestCount message version "
    "items { quantity equipment { name } } customer { email } assignedTo { email } "
    "reservation { number status } messages { kind text author { email } }"
)
VALIDATION = "... on ValidationError { fields { field message } }"
NOT_FOUND = "... on NotFoundError { field }"
RATE_LIMITED = "... on RateLimitedError { retryAfter }"
CONFLICT = "... on ConflictError { shortages { requested available equipment { name } } }"
ERROR = "... on Error { code message }"
ERRORS = f"{VALIDATION} {NOT_FOUND} {CONFLICT} {ERROR}"

SUBMIT = f"""
mutation Submit($input: SubmitEnquiryInput!) {{
  submitEnquiry(input: $input) {{
    __typename
    ... on SubmitEnquirySuccess {{ message enquiry {{ {ENQUIRY_FIELDS} }} }}
    {VALIDATION} {NOT_FOUND} {RATE_LIMITED} {ERROR}
  }}
}}
"""
SET_STATUS = f"""
mutation Status($input: SetEnquiryStatusInput!) {{
  setEnquiryStatus(input: $input) {{
    __typename
    ... on EnquirySuccess {{ enquiry {{ id status version }} }}
    {ERRORS}
  }}
}}
"""
ASSIGN = f"""
mutation Assign($input: AssignEnquiryInput!) {{
  assignEnquiry(input: $input) {{
    __typename
    ... on EnquirySuccess {{ enquiry {{ id version assignedTo {{ email }} }} }}
    {ERRORS}
  }}
}}
"""
ADD_MESSAGE = f"""
mutation Message($input: AddEnquiryMessageInput!) {{
  addEnquiryMessage(input: $input) {{
    __typename
    ... on EnquiryMessageSuccess {{ enquiryMessage {{ id kind text author {{ email }} }} }}
    {VALIDATION} {NOT_FOUND} {ERROR}
  }}
}}
"""
CONVERT = f"""
mutation Convert($input: ConvertEnquiryInput!) {{
  convertEnquiry(input: $input) {{
    __typename
    ... on ConvertEnquirySuccess {{
      enquiry {{ id status reservation {{ id number }} }}
      reservation {{ id number status customer {{ email }} lines {{ quantity equipment {{ name }} }} }}
    }}
    {ERRORS}
  }}
}}
"""
LIST = f"""
query List($filter: EnquiryFilter, $first: Int, $after: String) {{
  enquiries(filter: $filter, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {ENQUIRY_FIELDS} }} }}
  }}
}}
"""


def guest(tenant: str = "esr", **fields: Any) -> dict[str, Any]:
    """A guest's enquiry input."""
    values: dict[str, Any] = {
        "tenant": tenant,
        "name": "Gwen Guest",
        "email": "gwen@guests.example",
        "message": "A wedding for 120 in June.",
    }
    values.update(fields)
    return values


async def submit(api: Api, values: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(SUBMIT, {"input": values}, token=token))["submitEnquiry"]
    return result


async def call(api: Api, document: str, field: str, token: str | None, **values: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(document, {"input": values}, token=token))[field]
    return result


async def listed(api: Api, token: str, **filter: Any) -> list[dict[str, Any]]:
    data = await api.data(LIST, {"filter": filter or None, "first": 100}, token=token)
    return [edge["node"] for edge in data["enquiries"]["edges"]]
