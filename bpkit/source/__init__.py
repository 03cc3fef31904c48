"""The monorepo's sources: finding blueprints (discover), loading them (model), their schemas."""
