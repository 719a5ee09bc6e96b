"""Adapters to AWS services: they satisfy the Protocols of `activitylog.logic.ports` structurally (and
never import logic); `errors` is the one translation of AWS error codes into domain errors."""
