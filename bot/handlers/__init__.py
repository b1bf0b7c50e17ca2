"""Update handlers, one module per role or concern."""
