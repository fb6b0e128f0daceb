"""``python -m papi_plugin.simulator``: run the simulator stand-alone until Ctrl-C.

It prints the key pair it accepts: by default the public demo pair (made up; it guards nothing). A key
and secret of your own given with ``--api-key``/``--secret`` are never printed. ``--public-key PEM``
accepts requests signed with the private half of an RSA or Ed25519 key under ``--api-key``.
"""

from __future__ import annotations

import argparse
import os
import time

from cryptography.hazmat.primitives import serialization

from papi_plugin.simulator.limits import WEIGHT_LIMIT_1M
from papi_plugin.simulator.server import DEMO_API_KEY, DEMO_SECRET, Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the local Binance Portfolio Margin simulator.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--seed",
        action="store_true",
        help="open the documented margin example orders on BTCUSDT and a plain and a conditional order"
        " on BTCUSDT (USD-M) and BTCUSD_PERP (COIN-M)",
    )
    parser.add_argument("--api-key", default=os.environ.get("PAPI_SIMULATOR_API_KEY", DEMO_API_KEY))
    parser.add_argument("--secret", default=os.environ.get("PAPI_SIMULATOR_SECRET", DEMO_SECRET))
    parser.add_argument("--public-key", metavar="PEM", help="accept RSA or Ed25519 signatures under --api-key")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--extra-symbols", type=int, default=0, help="more margin symbols: X000USDT, X001USDT, ...")
    parser.add_argument("--weight-limit", type=int, default=WEIGHT_LIMIT_1M, help="request weight a minute")
    args = parser.parse_args(argv)
    sim = Simulator(
        port=args.port,
        api_key=args.api_key,
        secret=args.secret,
        latency=args.latency,
        extra_symbols=args.extra_symbols,
        weight_limit=args.weight_limit,
    )
    if args.public_key:
        with open(args.public_key, "rb") as handle:
            sim.add_public_key(args.api_key, serialization.load_pem_public_key(handle.read()))
    if args.seed:
        sim.seed_documented_example()
        sim.seed_futures_example()
    with sim:
        print(f"papi simulator on {sim.url} (Ctrl-C stops it)", flush=True)
        if (args.api_key, args.secret) == (DEMO_API_KEY, DEMO_SECRET):
            print(f"  API key: {DEMO_API_KEY}\n  secret:  {DEMO_SECRET}  (the public demo pair)", flush=True)
        else:
            print("  it accepts the API key and secret you gave (not shown)", flush=True)
        if args.public_key:
            print(f"  and {args.public_key}'s signatures under that API key", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
