"""`durable`: start, inspect and operate durable executions on AWS or on a local dev server, and run that server.

Against AWS it uses boto3's default credentials and region and finds a function's engine from the function's own
environment (GetFunctionConfiguration); against `durable dev` give `--endpoint URL` (or DURABLE_ENDPOINT).
"""

from __future__ import annotations

import argparse
import os
import sys

from .commands import COMMANDS, EXIT_EXECUTION_FAILED, EXIT_OK, EXIT_REFUSED, add_commands

__all__ = ["EXIT_EXECUTION_FAILED", "EXIT_OK", "EXIT_REFUSED", "main", "parser"]

_EPILOG = """\
examples:
  durable dev examples.order_workflow:handler --port 8787 &
  export DURABLE_ENDPOINT=http://127.0.0.1:8787
  durable start order-workflow --input '{"order_id": "o-1", "items": []}' --name o-1
  durable describe ARN
  durable history ARN            (--json for the raw events)
  durable watch ARN              (until it closes)
  durable callback succeed CALLBACK_ID --payload '{"decision": "approve"}'
  durable pause ARN --reason "checking"; durable resume ARN
  durable export ARN > order.json; durable replay order.json --handler examples.order_workflow:handler

exit codes: 0 done; 1 the service refused (the message says why); 2 bad usage;
3 the execution watched (or started with --wait) closed FAILED, TIMED_OUT or STOPPED.
"""


def parser() -> argparse.ArgumentParser:
    """The CLI's argument parser (every command with its options)."""
    root = argparse.ArgumentParser(
        prog="durable",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--endpoint", default=os.environ.get("DURABLE_ENDPOINT"), help="a `durable dev` server's URL")
    root.add_argument("--function", help="on AWS: the function whose engine to use (default: the one named)")
    root.add_argument("--region", help="on AWS: the region (default: boto3's)")
    root.add_argument("--json", action="store_true", help="print the service's response as JSON")
    add_commands(root.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    from .backends import CliError

    args = parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or EXIT_OK)
    except CliError as error:
        print(f"durable {args.command}: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
