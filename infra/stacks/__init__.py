"""Stacks only compose constructs; stateful and stateless resources live in separate stacks."""
