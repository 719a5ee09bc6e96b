"""The HTTP routes of each API function, apart from its entry module: the Docs function builds the
OpenAPI document from every router without loading (or needing the environment of) the functions."""
