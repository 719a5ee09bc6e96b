"""Use cases: plain functions over models and injected ports (no boto3, no environment)."""
