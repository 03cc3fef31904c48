"""Manifests for the tools that install blueprints (today: Flux).

Rendering reads loaded blueprints and settings only: no network, no git.
"""
