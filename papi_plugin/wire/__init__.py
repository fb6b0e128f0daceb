"""The HTTP edge: one signed papi request sent through ccxt's own session, its answer kept, its time bounded."""
