"""Platform operators: the accounts that create and list tenants, belonging to none.

No GraphQL operation creates one: ``rigbook create-operator`` and the demo seed do,
through ``create_operator``.
"""

from __future__ import annotations

from sqlmodel import col, select

from auth.passwords import Passwords
from db.tables import Operator
from resolvers.errors import InvalidInput
from resolvers.transactions import Transactions
from resolvers.validation import new_account


async def create_operator(
    transactions: Transactions, passwords: Passwords, *, email: str, name: str, password: str
) -> Operator:
    """A new operator; ``InvalidInput`` for a bad or taken email, a bad name or a weak password."""
    email = new_account(email, name, password)
    await transactions.end_read()  # hashing waits; it must not keep a connection from others
    password_hash = await passwords.hash(password)
    async with transactions.transaction() as session:
        if (await session.scalars(select(Operator.id).where(col(Operator.email) == email))).first():
            raise InvalidInput({"email": "Is already used by another operator."})
        operator = Operator(email=email, name=name.strip(), password_hash=password_hash)
        session.add(operator)
        await session.flush()
        return operator
