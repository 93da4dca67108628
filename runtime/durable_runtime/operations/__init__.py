"""One durable primitive per module, all built on the template in `base`."""
