"""Example durable workflows, used by `make demo`, the README and the tests."""
