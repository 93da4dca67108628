"""Local testing: run durable functions on moto with virtual time, through the production code paths."""

from .clock import VirtualClock
from .faults import FaultPlan, InjectedFault, ProcessExit, simulate_process_exit
from .results import DurableFunctionsTestError, DurableFunctionTestResult, Operation
from .runner import DurableFunctionTestRunner

__all__ = [
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableFunctionsTestError",
    "FaultPlan",
    "InjectedFault",
    "Operation",
    "ProcessExit",
    "VirtualClock",
    "simulate_process_exit",
]
