"""Operator tooling for the Activity Log service: the `activitylog` CLI and local mode."""
