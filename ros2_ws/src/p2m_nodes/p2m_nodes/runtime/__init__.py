"""What every p2m process shares: node start-up and shutdown, parameters, diagnostics, QoS,
child processes, and the pip-only pipeline runner."""
