"""What each GraphQL field does: queries, mutations and their rules, per-request
dataloaders, pagination."""
