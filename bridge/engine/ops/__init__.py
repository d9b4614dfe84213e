"""The engine's operations, one module per concern; each step takes an open ``Op``.

* :mod:`.workflows`: start, read, cancel, terminate, continue-as-new, and how a run finishes;
* :mod:`.dispatch`: the workflow-task claim, lease release and expiry, and the rules of every
  command a worker submits (engine-api §3.1-§3.4);
* :mod:`.activities`: activity scheduling, claim, completion, failure, retries and timeouts;
* :mod:`.timers_signals`: durable timers, signals, signal waits and side effects;
* :mod:`.schedules`: cron schedules;
* :mod:`.workers`: worker registration, liveness and queue statistics;
* :mod:`.namespaces`: namespaces and API keys.

:mod:`bridge.engine.core` opens the transaction and calls exactly one of these per operation.
"""
