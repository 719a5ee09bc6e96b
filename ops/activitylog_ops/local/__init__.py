"""Local mode: the synthesized CDK template "deployed" onto an embedded moto server.

Modules: `template` (pure parsing of CloudFormation templates), `moto_server` (the emulation and its
DynamoDB lock), `deploy` (creates the template's resources on moto), `invoker` (runs a function's
handler in-process), `moto_lambda` (routes moto's Lambda invocations to the invoker), `gateway` (the
API Gateway REST look-alike), `service` (wires it all together), `envfile` (`.local/env`).
"""
