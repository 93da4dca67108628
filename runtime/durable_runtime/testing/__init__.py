"""Local testing: run durable functions on moto with virtual time, through the production code paths.

The official testing SDK's names (`aws_durable_execution_sdk_python_testing` -> `durable_runtime.testing`) are
here and in `durable_runtime.testing.runner`.
"""

from .clock import VirtualClock
from .faults import FaultPlan, InjectedFault, ProcessExit, simulate_process_exit
from .operations import DurableFunctionsTestError, DurableFunctionTestResult, Operation
from .runner import DurableChildContextTestRunner, DurableFunctionCloudTestRunner, DurableFunctionTestRunner
from .time_travel import ReplayResult, replay

__all__ = [
    "DurableChildContextTestRunner",
    "DurableFunctionCloudTestRunner",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableFunctionsTestError",
    "FaultPlan",
    "InjectedFault",
    "Operation",
    "ProcessExit",
    "ReplayResult",
    "VirtualClock",
    "replay",
    "simulate_process_exit",
]
