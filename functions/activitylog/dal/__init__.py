"""Adapters to AWS services behind small Protocols; ClientError codes become domain errors."""
