"""Test cases of workflows: saved scenarios run with mocked or live connectors.

`services` writes (create, update, delete, approve, run one, run all, the
deploy gate), `selectors` reads, `host` answers connector calls from mocks,
`expectations` decides pass or fail. See apps/workflows/README.md.
"""
