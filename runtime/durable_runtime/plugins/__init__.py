"""Plugin machinery behind `durable_runtime.plugin`: hook dispatch, the instrumented journal path, and the
alias that lets plugins built for the official SDK import its module names."""
