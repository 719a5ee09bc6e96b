"""Local mode: the synthesized CDK template "deployed" onto an embedded moto server.

Modules:
- `template`: pure parsing of CloudFormation templates (functions, routes, references);
- `deploy`: creates the template's resources on moto;
- `moto_server`: the embedded emulation, its DynamoDB lock and the mail capture's hook;
- `moto_index`: index Queries answered in page time (the one module that touches moto's DynamoDB internals);
- `moto_lambda`: routes moto's Lambda invocations to the in-process invoker;
- `invoker`: runs a function's handler in-process, as one Lambda container;
- `proxy`: API Gateway REST semantics without I/O (route matching, proxy events, authorizer policies);
- `gateway`: the HTTP server speaking the API, with `/_local/` extras;
- `mail`: emails sent through the emulated SES, captured for `GET /_local/mail`;
- `schedules`: firing an EventBridge Scheduler schedule as Scheduler would;
- `schedule_clock`: fires due schedules by itself (`make local`);
- `envfile`: `.local/env`;
- `loopback`: where a running local server listens (port, URL);
- `service`: wires it all together (and resets the functions' composition root, `handlers.wiring`);
- `__main__`: `make local`.
"""
