"""Prometheus metrics of one process (API or worker), on that process's own registry.

Deployment model: per-process scrape. Every API process serves its own registry on `GET /metrics`
and every worker on WORKER_METRICS_PORT; Prometheus scrapes each process as its own target and
queries aggregate with `sum by (...)`. No multiprocess directory, no shared files: counters are
exact per process and a restart starts them at zero, which `rate()`/`increase()` handle. The
queue depth is a property of Redis, not of a process: every process reports the same value, so
aggregate it with `max`.

`PaygraphMetrics` implements services.observers.ChangeObserver (payment and refund transitions),
the gateway call recorder of gateways/instrumented.py, webhook intake/processing outcomes, the
reconciliation recorder and the alert counter. It does no I/O except `refresh_queue_depth`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateways.base import Gateway
from gateways.circuit import CircuitBreaker
from infra.http import HttpMetrics
from models.enums import PaymentStatus, RefundStatus
from models.payment import LatePayment, Payment
from models.refund import Refund

log = logging.getLogger("paygraph.metrics")

NO_GATEWAY = "NONE"  # a payment whose gateway order was never created
CIRCUIT_STATES = {"closed": 0, "open": 1, "half_open": 2}


class PaygraphMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http = HttpMetrics(r)
        self.payments = Counter(
            "paygraph_payments_total",
            "Payments entering a status, by gateway and method (one count per applied transition: "
            "a payment completed then refunded counts under COMPLETED and REFUNDED)",
            ["gateway", "method", "status"],
            registry=r,
        )
        self.failed_attempts = Counter(
            "paygraph_payment_failed_attempts_total",
            "Failed payment attempts (declines, gateway failures), by gateway and method",
            ["gateway", "method"],
            registry=r,
        )
        self.completion = Histogram(
            "paygraph_payment_completion_seconds",
            "Time from initiation (payment created) to COMPLETED",
            ["gateway", "method"],
            buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600),
            registry=r,
        )
        self.refunds = Counter(
            "paygraph_refunds_total",
            "Refunds entering a status (PENDING on creation), by gateway",
            ["gateway", "status"],
            registry=r,
        )
        self.webhooks_received = Counter(
            "paygraph_webhooks_received_total",
            "Webhook intake by gateway and outcome (new, duplicate, invalid_signature, malformed, "
            "verify_unavailable, store_unavailable)",
            ["gateway", "outcome"],
            registry=r,
        )
        self.webhooks_processed = Counter(
            "paygraph_webhooks_processed_total",
            "Webhook jobs by gateway and outcome (processed, ignored, retry, failed, skipped)",
            ["gateway", "outcome"],
            registry=r,
        )
        self.gateway_calls = Counter(
            "paygraph_gateway_calls_total",
            "Gateway calls by gateway, operation and outcome (ok or the error kind)",
            ["gateway", "operation", "outcome"],
            registry=r,
        )
        self.gateway_seconds = Histogram(
            "paygraph_gateway_call_seconds",
            "Gateway call latency by gateway and operation (one try; retries are separate calls)",
            ["gateway", "operation"],
            buckets=(0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
            registry=r,
        )
        self.circuit = Gauge(
            "paygraph_gateway_circuit_state",
            "Circuit breaker state per gateway: 0 closed, 1 open, 2 half-open",
            ["gateway"],
            registry=r,
        )
        self.reconciliation_runs = Counter(
            "paygraph_reconciliation_runs_total",
            "Reconciliation runs by trigger and outcome",
            ["trigger", "outcome"],
            registry=r,
        )
        self.reconciliation_recoveries = Counter(
            "paygraph_reconciliation_recoveries_total",
            "Records reconciliation fixed through the state machine, by kind",
            ["kind"],
            registry=r,
        )
        self.reconciliation_issues = Counter(
            "paygraph_reconciliation_issues_total",
            "Mismatches reconciliation reported and did not fix, by kind",
            ["kind"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "paygraph_queue_depth",
            "Jobs waiting in the arq queue (a Redis-wide value: aggregate with max)",
            ["queue"],
            registry=r,
        )
        self.late_payments = Counter(
            "paygraph_late_payments_total",
            "Money found for payments already closed, by what it was and what was done",
            ["gateway", "kind", "action"],
            registry=r,
        )
        self.job_faults = Counter(
            "paygraph_job_faults_total",
            "Background jobs that raised unexpectedly or ran out of time: retried, or failed "
            "after their last try (recorded in failed_jobs)",
            ["job", "outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "paygraph_alerts_total",
            "Alerts raised (after per-window deduplication), by kind",
            ["kind"],
            registry=r,
        )

    # -- services.observers.ChangeObserver ----------------------------------------------------

    def payment_transitioned(self, payment: Payment, status: PaymentStatus, at: datetime) -> None:
        gateway, method = _gateway(payment.gateway), payment.method_type.value
        self.payments.labels(gateway, method, status.value).inc()
        if status is PaymentStatus.COMPLETED:
            seconds = max((at - payment.created_at).total_seconds(), 0.0)
            self.completion.labels(gateway, method).observe(seconds)

    def payment_attempt_failed(self, payment: Payment) -> None:
        self.failed_attempts.labels(_gateway(payment.gateway), payment.method_type.value).inc()

    def refund_transitioned(self, refund: Refund, status: RefundStatus) -> None:
        self.refunds.labels(refund.gateway.value, status.value).inc()

    # -- gateways.instrumented.GatewayCallRecorder --------------------------------------------

    def gateway_call(self, gateway: Gateway, operation: str, seconds: float, outcome: str) -> None:
        self.gateway_calls.labels(gateway.value, operation, outcome).inc()
        self.gateway_seconds.labels(gateway.value, operation).observe(seconds)

    # -- webhooks -------------------------------------------------------------------------------

    def late_payment(self, payment: Payment, late: LatePayment) -> None:
        self.late_payments.labels(
            _gateway(payment.gateway), late.kind.value, late.action.value
        ).inc()

    def job_fault(self, job: str, outcome: str) -> None:
        self.job_faults.labels(job, outcome).inc()

    def webhook_received(self, gateway: Gateway, outcome: str) -> None:
        self.webhooks_received.labels(gateway.value, outcome).inc()

    def webhook_processed(self, gateway: Gateway, outcome: str) -> None:
        self.webhooks_processed.labels(gateway.value, outcome).inc()

    # -- services.observers.ReconciliationRecorder ----------------------------------------------

    def reconciliation_run(self, trigger: str, outcome: str) -> None:
        self.reconciliation_runs.labels(trigger, outcome).inc()

    def reconciliation_recovered(self, kind: str, count: int = 1) -> None:
        if count:
            self.reconciliation_recoveries.labels(kind).inc(count)

    def reconciliation_issue(self, kind: str, count: int = 1) -> None:
        if count:
            self.reconciliation_issues.labels(kind).inc(count)

    # -- alerts -----------------------------------------------------------------------------------

    def alert_raised(self, kind: str) -> None:
        self.alerts.labels(kind).inc()

    # -- read at scrape time ----------------------------------------------------------------------

    def watch_breakers(self, breakers: Mapping[Gateway, CircuitBreaker]) -> None:
        """The breaker gauges read each breaker's state when scraped (no polling)."""
        for gateway, breaker in breakers.items():
            self.circuit.labels(gateway.value).set_function(_state_reader(breaker))

    async def refresh_queue_depth(self, redis: Redis, *queue_names: str) -> None:
        """ZCARD of each arq queue. Redis being down keeps the last values (and /metrics up)."""
        for queue_name in queue_names:
            try:
                depth = await redis.zcard(queue_name)
            except (RedisError, OSError) as exc:
                log.debug("queue depth not refreshed: %s", exc)
                return
            self.queue_depth.labels(queue_name).set(depth)


def _state_reader(breaker: CircuitBreaker) -> Callable[[], float]:
    return lambda: float(CIRCUIT_STATES[breaker.state])


def _gateway(gateway: Gateway | None) -> str:
    return gateway.value if gateway is not None else NO_GATEWAY
