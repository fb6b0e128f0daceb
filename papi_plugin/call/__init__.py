"""One call, run: the ``Canceller`` and its sync and async shells, its attempts and retry policy, its outcome,
and the boundary that lets only ccxt errors out."""
