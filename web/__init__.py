"""HTTP plumbing around the GraphQL schema: middleware, the GraphQL view, health."""
