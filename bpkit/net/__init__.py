"""The network: HTTP with a retry budget, registry auth, credentials, the registry client.

Only this package imports requests; `bpkit lint` never imports it."""
