"""The GraphQL object, input and enum types of each domain, and how rows become them."""
