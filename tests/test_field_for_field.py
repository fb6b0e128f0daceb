"""The simulator answers as Binance documents, field for field: every answer of every papi endpoint it serves
has the keys of Binance's documented example for that endpoint (none missing, none extra), and each value the
example's JSON type and format. The examples are data (``tests/binance_examples/papi.json``, with their source).

Requests are raw HTTP, signed as Binance documents (HMAC-SHA256 over the query string), so what is compared is
exactly what the simulator sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pathlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from papi_plugin.simulator import Simulator
from papi_plugin.simulator.routes import ENDPOINTS

EXAMPLES: dict[str, Any] = json.loads((pathlib.Path(__file__).parent / "binance_examples" / "papi.json").read_text())[
    "endpoints"
]
DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def kind(value: Any) -> str:
    """A JSON value's type, and a string's format: a decimal number, or any other text."""
    if isinstance(value, str):
        return "decimal string" if DECIMAL.fullmatch(value) else "string"
    return {bool: "boolean", int: "integer", float: "number", type(None): "null", list: "array", dict: "object"}[
        type(value)
    ]


def differences(answer: Any, example: Any, where: str = "", sometimes: frozenset[str] = frozenset()) -> list[str]:
    """How ``answer`` differs from the documented ``example``: missing or extra keys, other types or formats.
    ``sometimes``: fields Binance documents as present only in some answers (absent is no difference)."""
    if isinstance(example, dict) and isinstance(answer, dict):
        found = [f"{where}.{key}: missing" for key in example if key not in answer and key not in sometimes]
        found += [f"{where}.{key}: not documented" for key in answer if key not in example]
        for key in example.keys() & answer.keys():
            found += differences(answer[key], example[key], f"{where}.{key}", sometimes)
        return found
    if isinstance(example, list) and isinstance(answer, list):
        found = []
        for index, item in enumerate(answer):  # each entry against the documented entry it is closest to
            candidates = [differences(item, documented, f"{where}[{index}]", sometimes) for documented in example]
            closest: list[str] = min(candidates, key=len) if candidates else []
            found += closest
        return found
    if kind(example) == "string" and isinstance(answer, str):
        return []  # free text (an id, an empty placeholder) may be a number too
    if kind(answer) != kind(example):
        return [f"{where}: {kind(answer)} {answer!r}, documented {kind(example)} {example!r}"]
    return []


class Raw:
    """Signed raw HTTP to the simulator, as Binance documents signing."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def __call__(self, method: str, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode({**params, "timestamp": int(time.time() * 1000)})
        signature = hmac.new(self.sim.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{self.sim.url}{path}?{query}&signature={signature}",
            method=method,
            headers={"X-MBX-APIKEY": self.sim.api_key},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


def check(method: str, path: str, answer: Any) -> None:
    documented = EXAMPLES[f"{method} {path}"]
    example, sometimes = documented["example"], frozenset(documented.get("sometimes", {}).get("fields", ()))
    if isinstance(example, list) and not isinstance(answer, list) and len(example) == 1:
        example = example[0]  # a one-order read documented as a list of one
    assert answer not in ([], {}), f"{method} {path}: an empty answer proves nothing"
    assert differences(answer, example, sometimes=sometimes) == [], f"{method} {path}"


@pytest.fixture
def raw() -> Any:
    with Simulator() as sim:
        yield Raw(sim)


def test_the_comparison_finds_a_missing_an_extra_and_a_mistyped_field() -> None:
    example = {"orderId": 1, "price": "0.1", "orders": [{"symbol": "BTCUSDT"}], "isWorking": True}
    answer = {"orderId": "1", "price": "cheap", "orders": [{"symbol": "BTCUSDT", "x": 1}], "extra": None}
    assert sorted(differences(answer, example)) == [
        ".extra: not documented",
        ".isWorking: missing",
        ".orderId: decimal string '1', documented integer 1",
        ".orders[0].x: not documented",
        ".price: string 'cheap', documented decimal string '0.1'",
    ]


def test_every_papi_endpoint_served_has_its_documented_example() -> None:
    served = {f"{method} {path}" for method, path in ENDPOINTS if path.startswith("/papi/") and path != "/papi/v1/ping"}
    assert served == set(EXAMPLES)


def test_the_margin_endpoints_answer_field_for_field(raw: Raw) -> None:
    order = raw("POST", "/papi/v1/margin/order", symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                quantity="1", price="10")  # fmt: skip
    check("POST", "/papi/v1/margin/order", order)
    oco = raw("POST", "/papi/v1/margin/order/oco", symbol="BTCUSDT", side="SELL", quantity="1", price="120",
              stopPrice="90", stopLimitPrice="89", stopLimitTimeInForce="GTC")  # fmt: skip
    check("POST", "/papi/v1/margin/order/oco", oco)
    check("GET", "/papi/v1/margin/openOrders", raw("GET", "/papi/v1/margin/openOrders", symbol="BTCUSDT"))
    check("GET", "/papi/v1/margin/openOrderList", raw("GET", "/papi/v1/margin/openOrderList"))
    one = raw("GET", "/papi/v1/margin/order", symbol="BTCUSDT", orderId=order["orderId"])
    check("GET", "/papi/v1/margin/order", one)
    check("DELETE", "/papi/v1/margin/order", raw("DELETE", "/papi/v1/margin/order", symbol="BTCUSDT",
                                                 orderId=order["orderId"]))  # fmt: skip
    done = raw("DELETE", "/papi/v1/margin/orderList", symbol="BTCUSDT", orderListId=oco["orderListId"])
    check("DELETE", "/papi/v1/margin/orderList", done)
    check("GET", "/papi/v1/margin/allOrders", raw("GET", "/papi/v1/margin/allOrders", symbol="BTCUSDT"))
    check("GET", "/papi/v1/margin/allOrderList", raw("GET", "/papi/v1/margin/allOrderList"))
    raw.sim.seed_documented_example()
    check("DELETE", "/papi/v1/margin/allOpenOrders", raw("DELETE", "/papi/v1/margin/allOpenOrders", symbol="BTCUSDT"))


UM_ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01", "price": "60000", "timeInForce": "GTC"}
CM_ORDER = {"symbol": "BTCUSD_PERP", "side": "BUY", "quantity": "1", "price": "60000", "timeInForce": "GTC"}


def test_the_futures_endpoints_answer_field_for_field(raw: Raw) -> None:
    um = raw("POST", "/papi/v1/um/order", type="LIMIT", **UM_ORDER)
    algo = raw("POST", "/papi/v1/um/algo/order", algoType="CONDITIONAL", type="STOP", triggerPrice="61000", **UM_ORDER)
    cm = raw("POST", "/papi/v1/cm/order", type="LIMIT", **CM_ORDER)
    strategy = raw("POST", "/papi/v1/cm/conditional/order", strategyType="STOP", stopPrice="61000", **CM_ORDER)
    for path, answer in (
        ("/papi/v1/um/order", um),
        ("/papi/v1/um/algo/order", algo),
        ("/papi/v1/cm/order", cm),
        ("/papi/v1/cm/conditional/order", strategy),
    ):
        check("POST", path, answer)
    for section, symbol in (
        ("um", "BTCUSDT"),
        ("um/algo", "BTCUSDT"),
        ("cm", "BTCUSD_PERP"),
        ("cm/conditional", "BTCUSD_PERP"),
    ):
        open_path = f"/papi/v1/{section}/{'openAlgoOrders' if section == 'um/algo' else 'openOrders'}"
        check("GET", open_path, raw("GET", open_path, symbol=symbol))
    one = {"symbol": "BTCUSDT", "orderId": um["orderId"]}
    check("GET", "/papi/v1/um/order", raw("GET", "/papi/v1/um/order", **one))
    check("GET", "/papi/v1/um/openOrder", raw("GET", "/papi/v1/um/openOrder", **one))
    check("GET", "/papi/v1/um/algo/algoOrder", raw("GET", "/papi/v1/um/algo/algoOrder", algoId=algo["algoId"]))
    one = {"symbol": "BTCUSD_PERP", "orderId": cm["orderId"]}
    check("GET", "/papi/v1/cm/order", raw("GET", "/papi/v1/cm/order", **one))
    check("GET", "/papi/v1/cm/openOrder", raw("GET", "/papi/v1/cm/openOrder", **one))
    named = {"symbol": "BTCUSD_PERP", "strategyId": strategy["strategyId"]}
    check("GET", "/papi/v1/cm/conditional/openOrder", raw("GET", "/papi/v1/cm/conditional/openOrder", **named))
    check("DELETE", "/papi/v1/um/order", raw("DELETE", "/papi/v1/um/order", symbol="BTCUSDT", orderId=um["orderId"]))
    check("DELETE", "/papi/v1/um/algo/order", raw("DELETE", "/papi/v1/um/algo/order", algoId=algo["algoId"]))
    check(
        "DELETE", "/papi/v1/cm/order", raw("DELETE", "/papi/v1/cm/order", symbol="BTCUSD_PERP", orderId=cm["orderId"])
    )
    check("DELETE", "/papi/v1/cm/conditional/order", raw("DELETE", "/papi/v1/cm/conditional/order", **named))
    check("GET", "/papi/v1/cm/conditional/orderHistory", raw("GET", "/papi/v1/cm/conditional/orderHistory", **named))
    raw.sim.seed_futures_example()
    for section, symbol in (
        ("um", "BTCUSDT"),
        ("um/algo", "BTCUSDT"),
        ("cm", "BTCUSD_PERP"),
        ("cm/conditional", "BTCUSD_PERP"),
    ):
        check(
            "DELETE",
            f"/papi/v1/{section}/allOpenOrders",
            raw("DELETE", f"/papi/v1/{section}/allOpenOrders", symbol=symbol),
        )
    for path, symbol in (
        ("/papi/v1/um/allOrders", "BTCUSDT"),
        ("/papi/v1/um/algo/allAlgoOrders", "BTCUSDT"),
        ("/papi/v1/cm/allOrders", "BTCUSD_PERP"),
        ("/papi/v1/cm/conditional/allOrders", "BTCUSD_PERP"),
    ):
        check("GET", path, raw("GET", path, symbol=symbol))


def test_the_position_reads_answer_field_for_field_and_follow_the_fills(raw: Raw) -> None:
    for _ in range(2):
        raw.sim.fill_futures("um", raw("POST", "/papi/v1/um/order", type="LIMIT", **UM_ORDER)["orderId"])
    raw.sim.fill_futures("cm", raw("POST", "/papi/v1/cm/order", type="LIMIT", **CM_ORDER)["orderId"])
    [um] = raw("GET", "/papi/v1/um/positionRisk", symbol="BTCUSDT")
    check("GET", "/papi/v1/um/positionRisk", [um])
    assert (um["positionAmt"], um["entryPrice"], um["positionSide"]) == ("0.020", "60000.00000", "BOTH")
    positions = raw("GET", "/papi/v1/cm/positionRisk", pair="BTCUSD")
    check("GET", "/papi/v1/cm/positionRisk", positions)
    assert {p["symbol"]: p["positionAmt"] for p in positions} == {"BTCUSD_PERP": "1", "BTCUSD_261225": "0"}
    assert len(raw("GET", "/papi/v1/um/positionRisk")) == len(raw.sim.um_symbols)  # every symbol without one
