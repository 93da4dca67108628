"""boto3 clients for moto, cheap to make: runners in one process share what they can.

A new boto3 session parses the service models from disk again (about 0.15 s of CPU per runner), and a new client
costs about 10 ms; one session per process parses them once, and the simulation's own clients (which carry
nothing of a runner: no fault plan) are made once per service and region.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_session: Any = None
_shared: dict[tuple[str, str], Any] = {}


def moto_client(service: str, region: str, config: Any = None) -> Any:
    """A new client for `service` in `region`, with moto's test credentials."""
    global _session
    import boto3

    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(
            service,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )


def shared_moto_client(service: str, region: str, config: Any = None) -> Any:
    """The process's one client for `service` in `region` (made with `config` the first time)."""
    with _lock:
        key = (service, region)
        if key not in _shared:
            _shared[key] = moto_client(service, region, config)
        return _shared[key]
