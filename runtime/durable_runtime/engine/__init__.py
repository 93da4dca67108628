"""The engine: invocations, leases, timers and history on top of the journal."""
