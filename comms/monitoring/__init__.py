"""Running Candor as a service: liveness and readiness checks, Prometheus metrics and the request
context that every log line carries. Knows the outbox and the task engine, nothing of incidents;
playbooks adds its own gauges through settings.CANDOR_METRICS_COLLECTORS."""
