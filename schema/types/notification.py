"""Notification mail preferences as GraphQL types: the categories and a user's choice for each."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.notification_prefs import Category, Preference


@strawberry.enum(
    description="A kind of notification mail. Password reset mail belongs to none: it always goes."
)
class NotificationCategory(Enum):
    REQUESTS = strawberry.enum_value(
        Category.REQUESTS.value, description="To admins and managers: a customer asked for a reservation."
    )
    BOOKING_UPDATES = strawberry.enum_value(
        Category.BOOKING_UPDATES.value,
        description="To customers: their reservation was confirmed, declined, canceled or expired.",
    )
    PICKUP_REMINDERS = strawberry.enum_value(
        Category.PICKUP_REMINDERS.value, description="To customers: their pickup is coming up."
    )
    OVERDUE = strawberry.enum_value(
        Category.OVERDUE.value,
        description="To the customer, and to admins and managers: a reservation was not returned in time.",
    )
    DESIGN_SHARES = strawberry.enum_value(
        Category.DESIGN_SHARES.value, description="A design's share link was made for you."
    )
    MONTHLY_REPORTS = strawberry.enum_value(
        Category.MONTHLY_REPORTS.value, description="To admins: a monthly report is ready."
    )
    WEBHOOK_ALERTS = strawberry.enum_value(
        Category.WEBHOOK_ALERTS.value,
        description="To admins: a webhook endpoint kept failing and was disabled. Essential.",
    )
    ENQUIRIES = strawberry.enum_value(
        Category.ENQUIRIES.value,
        description="To admins and managers: a guest or customer sent an enquiry (`submitEnquiry`).",
    )


@strawberry.type(description="Whether a user gets one kind of notification mail.")
class NotificationPreference:
    category: NotificationCategory = strawberry.field(description="The kind of mail.")
    enabled: bool = strawberry.field(description="The user gets it.")
    essential: bool = strawberry.field(description="Always sent: it cannot be turned off.")

    @classmethod
    def from_value(cls, value: Preference) -> NotificationPreference:
        return cls(
            category=NotificationCategory[value.category.name],
            enabled=value.enabled,
            essential=value.essential,
        )


@strawberry.input(description="Turn one kind of notification mail on or off.")
class NotificationPreferenceInput:
    category: NotificationCategory = strawberry.field(description="The kind of mail.")
    enabled: bool = strawberry.field(
        description="Whether you get it; an essential kind cannot be turned off."
    )

    def to_value(self) -> Preference:
        return Preference(Category[self.category.name], self.enabled)
