#!/usr/bin/env python3
"""CDK entry point (`npx cdk synth|diff|deploy`); the app itself is built in infra/app_builder.py."""

from infra.app_builder import build_app

build_app().synth()
