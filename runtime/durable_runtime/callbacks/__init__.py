"""Callbacks: capability ids, the completion core, and the API Gateway handler that calls it."""
