"""The simulator itself behaves like Binance where a client can get it wrong (plain ccxt, no plugin)."""

from __future__ import annotations

import contextlib
import http.client
import threading
from typing import Any

import ccxt
import pytest

from papi_plugin.simulator import Fault, Simulator


def plain_binance(sim: Simulator) -> ccxt.binance:
    exchange = sim.attach(ccxt.binance({"apiKey": sim.api_key, "secret": sim.secret, "enableRateLimit": False}))
    exchange.load_markets()
    return exchange


def test_every_answer_reports_the_used_weight() -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        with pytest.raises(ccxt.OrderNotFound):  # -2011: on a host other than papi.binance.com, ccxt says so
            exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})
        headers = {k.lower(): v for k, v in exchange.last_response_headers.items()}
        assert int(headers["x-mbx-used-weight-1m"]) == sim.weight_used == 5  # the papi API's own weight


def test_the_spot_and_futures_apis_keep_their_own_weight_apart_from_papi() -> None:
    with Simulator(weight_limit=10, clock=lambda: 6000.0) as sim:  # one window throughout
        exchange = plain_binance(sim)  # three exchange infos: spot (20), USD-M and COIN-M
        assert sim.weight_used == 0 and sim.limits.weight_used_by("api") == 20
        exchange.load_markets(reload=True)  # 40 more spot weight, past papi's 10: no 429
        assert sim.rate_limited_answers == 0 and sim.limits.weight_used_by("api") == 40


def test_ignoring_429s_gets_the_ip_banned_with_418() -> None:
    # Room for one cancel (5) in a 9-weight minute.
    with Simulator(weight_limit=9, ban_after=2, ban_seconds=60) as sim:
        exchange = plain_binance(sim)
        statuses = []
        for _ in range(5):
            with contextlib.suppress(ccxt.BaseError):
                exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})
            statuses.append(sim.requests[-1].status)
        assert statuses == [400, 429, 429, 418, 418]
        assert "Retry-After" in exchange.last_response_headers


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, -1102), ({"symbol": "XYZUSDT"}, -1121), ({"symbol": "BTCUSDT", "recvWindow": 60001}, -1131)],
)
def test_bad_parameters_get_binance_codes(params: dict[str, object], code: int) -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        with pytest.raises(ccxt.BaseError) as raised:
            exchange.papiDeleteMarginAllOpenOrders(params)
        assert str(code) in str(raised.value)


def test_a_wrong_or_missing_key_is_refused() -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        exchange.apiKey = "someone-else"
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            exchange.papiDeleteMarginAllOpenOrders({"symbol": "BTCUSDT"})


def test_a_cancel_only_touches_its_symbol() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        other = sim.place("ETHUSDT", "BUY", "LIMIT", "1", "10")
        answer = sim.cancel_all("BTCUSDT")
        assert sorted(o["orderId"] for o in answer if "orderId" in o) == [11]
        assert [leg["orderId"] for leg in answer[1]["orderReports"]] == [20, 21]
        assert sim.open_orders() == [other]


# ---- Binance's documented rules, tried with hand-made requests ------------------------------------------


def signed_call(
    sim: Simulator, method: str, path: str, query: str, body: str = "", sign: str | None = None, upper: bool = False
) -> tuple[int, Any, dict[str, str]]:
    """Send a request signed over ``sign`` (default: the query followed by the body, as Binance reads it)."""
    import hashlib
    import hmac
    import json
    import urllib.error
    import urllib.request

    payload = query + body if sign is None else sign
    signature = hmac.new(sim.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    signature = signature.upper() if upper else signature
    if body:
        body = f"{body}&signature={signature}"
    else:
        query = f"{query}&signature={signature}"
    request = urllib.request.Request(
        f"{sim.url}{path}?{query}", data=body.encode() or None, method=method, headers={"X-MBX-APIKEY": sim.api_key}
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def now_ms(sim: Simulator) -> int:
    return sim.server_time()


def test_the_signature_covers_the_query_then_the_body_with_nothing_between() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        query, body = "symbol=BTCUSDT", f"timestamp={now_ms(sim)}"
        status, answer, _ = signed_call(sim, "DELETE", "/papi/v1/margin/allOpenOrders", query, body)
        assert status == 200 and len(answer) == 2
        sim.seed_documented_example()
        wrong = f"{query}&{body}"  # an "&" between them is not what Binance signs
        status, answer, _ = signed_call(sim, "DELETE", "/papi/v1/margin/allOpenOrders", query, body, sign=wrong)
        assert (status, answer["code"]) == (400, -1022)


def test_the_signature_is_not_case_sensitive() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        status, _, _ = signed_call(
            sim, "DELETE", "/papi/v1/margin/allOpenOrders", f"symbol=BTCUSDT&timestamp={now_ms(sim)}", upper=True
        )
        assert status == 200


def test_the_querys_value_wins_over_the_bodys() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        sim.place("ETHUSDT", "BUY", "LIMIT", "1", "10")
        query, body = f"symbol=ETHUSDT&timestamp={now_ms(sim)}", "symbol=BTCUSDT"
        status, answer, _ = signed_call(sim, "DELETE", "/papi/v1/margin/allOpenOrders", query, body)
        assert status == 200 and answer[0]["symbol"] == "ETHUSDT"
        assert len(sim.open_orders("BTCUSDT")) == 3


def test_a_get_reads_its_parameters_from_the_query_only() -> None:
    with Simulator() as sim:
        status, answer, _ = signed_call(sim, "GET", "/papi/v1/margin/openOrders", "", f"timestamp={now_ms(sim)}")
        assert (status, answer["code"]) == (400, -1102)  # the timestamp in the body is not read


def test_an_unknown_parameter_is_refused_with_1104() -> None:
    with Simulator() as sim:
        query = f"symbol=BTCUSDT&portfolioMargin=true&timestamp={now_ms(sim)}"
        status, answer, _ = signed_call(sim, "DELETE", "/papi/v1/margin/allOpenOrders", query)
        assert (status, answer["code"]) == (400, -1104)


@pytest.mark.parametrize(
    ("quantity", "price", "code", "says"),
    [
        ("1e-05", "10", -1100, "quantity"),
        ("0.0000001", "10", -1013, "LOT_SIZE"),
        ("1", "10.0000001", -1013, "PRICE_FILTER"),
        ("0.001", "10", -1013, "NOTIONAL"),
    ],
)
def test_orders_are_checked_against_the_symbols_filters(quantity: str, price: str, code: int, says: str) -> None:
    with Simulator() as sim:
        query = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={quantity}&price={price}"
        status, answer, _ = signed_call(sim, "POST", "/papi/v1/margin/order", "", f"{query}&timestamp={now_ms(sim)}")
        assert (status, answer["code"]) == (400, code) and says in answer["msg"]
        assert sim.open_orders() == []


@pytest.mark.parametrize(("respond", "keys"), [("ACK", {"orderId", "transactTime"}), ("FULL", {"fills", "status"})])
def test_new_order_resp_type_shapes_the_answer(respond: str, keys: set[str]) -> None:
    with Simulator() as sim:
        params = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=10&newOrderRespType={respond}"
        status, answer, headers = signed_call(
            sim, "POST", "/papi/v1/margin/order", "", f"{params}&timestamp={now_ms(sim)}"
        )
        assert status == 200 and keys <= set(answer)
        assert headers["X-MBX-ORDER-COUNT-1M"] == "1"


def test_a_partly_filled_order_is_canceled_with_its_filled_quantity() -> None:
    with Simulator() as sim:
        order = sim.place("BTCUSDT", "BUY", "LIMIT", "2", "10")
        sim.fill(order.order_id, "0.5")
        [report] = sim.cancel_all("BTCUSDT")
        assert report["executedQty"] == "0.50000000" and report["cummulativeQuoteQty"] == "5.00000000"
        assert report["status"] == "CANCELED"


def test_one_order_and_one_list_can_be_queried_and_canceled() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        stamp = now_ms(sim)
        status, answer, _ = signed_call(
            sim, "GET", "/papi/v1/margin/order", f"symbol=BTCUSDT&orderId=11&timestamp={stamp}"
        )
        assert status == 200 and answer["status"] == "NEW" and answer["isWorking"] is True
        status, answer, _ = signed_call(
            sim, "DELETE", "/papi/v1/margin/order", f"symbol=BTCUSDT&orderId=11&timestamp={stamp}"
        )
        assert (
            status == 200 and answer["status"] == "CANCELED" and answer["origClientOrderId"] == "E6APeyTJvkMvLMYMqu1KQ4"
        )
        query = f"symbol=BTCUSDT&orderListId=1929&timestamp={stamp}"
        status, answer, _ = signed_call(sim, "DELETE", "/papi/v1/margin/orderList", query)
        assert status == 200 and answer["listStatusType"] == "ALL_DONE" and len(answer["orderReports"]) == 2
        status, answer, _ = signed_call(
            sim, "GET", "/papi/v1/margin/order", f"symbol=BTCUSDT&orderId=99&timestamp={stamp}"
        )
        assert (status, answer["code"]) == (400, -2013)
        assert sim.open_orders() == []


def test_a_timestamp_ahead_of_the_server_gets_binances_own_words() -> None:
    with Simulator() as sim:
        status, answer, _ = signed_call(
            sim, "DELETE", "/papi/v1/margin/allOpenOrders", f"symbol=BTCUSDT&timestamp={now_ms(sim) + 5000}"
        )
        assert (status, answer["code"]) == (400, -1021) and "ahead of the server's time" in answer["msg"]


def test_open_orders_are_shaped_as_binance_documents_them() -> None:
    with Simulator() as sim:
        sim.seed_documented_example()
        status, answer, _ = signed_call(
            sim, "GET", "/papi/v1/margin/openOrders", f"symbol=BTCUSDT&timestamp={now_ms(sim)}"
        )
        assert status == 200 and all("orderListId" not in order for order in answer)


def test_a_repeat_ban_is_longer_and_the_429_states_the_configured_limit() -> None:
    with Simulator(weight_limit=30, ban_after=0, ban_seconds=60) as sim:
        sim.charge(30)
        _, first = sim.charge(5)
        assert first is not None and first.status == 418
        sim.limits._banned_until = 0  # the first ban is over
        _, second = sim.charge(5)
        assert second is not None and int(second.headers["Retry-After"]) > 60
    with Simulator(weight_limit=30) as sim:
        sim.charge(30)
        _, limited = sim.charge(5)
        assert limited is not None and "current limit is 30 request weight" in limited.msg


@pytest.mark.parametrize(
    ("method", "path", "query", "weight"),
    [
        ("GET", "/papi/v1/um/openOrders", "symbol=BTCUSDT", 1),
        ("GET", "/papi/v1/um/openOrders", "", 40),
        ("GET", "/papi/v1/um/algo/openAlgoOrders", "", 40),
        ("GET", "/papi/v1/cm/conditional/openOrders", "symbol=BTCUSD_PERP", 1),
        ("DELETE", "/papi/v1/um/allOpenOrders", "symbol=BTCUSDT", 1),
        ("DELETE", "/papi/v1/um/algo/allOpenOrders", "symbol=BTCUSDT", 1),
        ("DELETE", "/papi/v1/cm/allOpenOrders", "symbol=BTCUSD_PERP", 1),
        ("DELETE", "/papi/v1/cm/conditional/allOpenOrders", "symbol=BTCUSD_PERP", 1),
        ("GET", "/papi/v1/um/allOrders", "symbol=BTCUSDT", 5),
        ("GET", "/papi/v1/um/algo/allAlgoOrders", "symbol=BTCUSDT", 5),
        ("GET", "/papi/v1/cm/allOrders", "symbol=BTCUSD_PERP", 20),
        ("GET", "/papi/v1/cm/conditional/allOrders", "symbol=BTCUSD_PERP", 1),
        ("GET", "/papi/v1/um/positionRisk", "", 5),
        ("GET", "/papi/v1/cm/positionRisk", "", 1),
    ],
)
def test_futures_endpoints_weigh_what_binance_documents(method: str, path: str, query: str, weight: int) -> None:
    with Simulator() as sim:
        before = sim.weight_used
        params = f"{query}&timestamp={now_ms(sim)}".lstrip("&")
        status, _, _ = signed_call(sim, method, path, params)
        assert status == 200 and sim.weight_used - before == weight


@pytest.mark.parametrize(
    ("method", "path", "query", "code"),
    [
        ("DELETE", "/papi/v1/um/allOpenOrders", "symbol=BTCUSD_PERP", -1121),  # a COIN-M symbol on the UM call
        ("DELETE", "/papi/v1/cm/allOpenOrders", "", -1102),
        ("DELETE", "/papi/v1/um/algo/allOpenOrders", "symbol=BTCUSDT&conditional=true", -1104),
        ("GET", "/papi/v1/cm/allOrders", "symbol=BTCUSD_PERP&limit=101", -1102),  # "Default 50; max 100"
        ("GET", "/papi/v1/um/order", "symbol=BTCUSDT", -1102),  # "Either orderId or origClientOrderId must be sent"
        ("GET", "/papi/v1/um/order", "symbol=BTCUSDT&orderId=42", -2013),  # "Order does not exist."
        ("GET", "/papi/v1/cm/openOrder", "symbol=BTCUSD_PERP&orderId=42", -2013),
        ("DELETE", "/papi/v1/um/order", "symbol=BTCUSDT&orderId=42", -2011),  # "Unknown order sent."
        ("DELETE", "/papi/v1/um/algo/order", "algoId=42", -2011),
        ("DELETE", "/papi/v1/cm/conditional/order", "symbol=BTCUSD_PERP&strategyId=42&orderId=1", -1104),
        ("GET", "/papi/v1/um/positionRisk", "symbol=BTCUSD_PERP", -1121),
    ],
)
def test_futures_endpoints_refuse_what_binance_refuses(method: str, path: str, query: str, code: int) -> None:
    with Simulator() as sim:
        status, answer, _ = signed_call(sim, method, path, f"{query}&timestamp={now_ms(sim)}".lstrip("&"))
        assert (status, answer["code"]) == (400, code)


def test_futures_orders_are_placed_read_canceled_and_kept_in_history_through_ccxt() -> None:
    with Simulator() as sim:
        exchange = plain_binance(sim)
        placed = exchange.papiPostUmAlgoOrder(
            {
                "algoType": "CONDITIONAL",
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "STOP",
                "quantity": "0.01",
                "price": "90000",
                "triggerPrice": "91000",
                "clientAlgoId": "myStop",
            }
        )
        assert placed["algoStatus"] == "NEW" and placed["clientAlgoId"] == "myStop"
        order = exchange.create_order("BTC/USD:BTC", "limit", "buy", 1, 50000, {"portfolioMargin": True})
        assert exchange.papiGetCmOpenOrders({"symbol": "BTCUSD_PERP"})[0]["orderId"] == int(order["id"])
        answer = exchange.papiDeleteUmAlgoAllOpenOrders({"symbol": "BTCUSDT"})
        assert answer == {"code": 200, "msg": "The operation of cancel all open order is done."}
        history = exchange.papiGetUmAlgoAllAlgoOrders({"symbol": "BTCUSDT"})
        assert [(h["clientAlgoId"], h["algoStatus"]) for h in history] == [("myStop", "CANCELED")]
        assert sim.seen("POST", "/papi/v1/cm/order") == 1


@pytest.mark.parametrize(
    ("path", "order", "code", "says"),
    [
        ("um/order", "quantity=0.01&price=0.05", -4013, "Price less than min price."),
        ("um/order", "quantity=0.01&price=60000.05", -4014, "Price not increased by tick size."),
        ("um/order", "quantity=0.0001&price=60000", -4004, "Quantity less than min quantity."),
        ("um/order", "quantity=0.0105&price=60000", -4023, "Qty not increased by step size."),
        ("um/order", "quantity=2000&price=60000", -4005, "Quantity greater than max quantity."),
        ("um/order", "quantity=0.001&price=1000", -4164, "Order's notional must be no smaller than 5"),
        ("cm/order", "quantity=1.5&price=60000", -4023, "Qty not increased by step size."),
        ("cm/order", "quantity=1&price=9999999", -4002, "Price greater than max price."),
    ],
)
def test_futures_orders_are_checked_against_the_filters_the_exchange_information_lists(
    path: str, order: str, code: int, says: str
) -> None:
    with Simulator() as sim:
        symbol = "BTCUSDT" if path.startswith("um") else "BTCUSD_PERP"
        query = f"symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&{order}&timestamp={now_ms(sim)}"
        status, answer, _ = signed_call(sim, "POST", f"/papi/v1/{path}", query)
        assert (status, answer["code"]) == (400, code) and answer["msg"].startswith(says)
        info = plain_binance(sim).fapiPublicGetExchangeInfo() if path.startswith("um") else None
        if info is not None:  # what refused it is what a bot reads before placing
            filters = {f["filterType"] for f in info["symbols"][0]["filters"]}
            assert {"PRICE_FILTER", "LOT_SIZE", "MIN_NOTIONAL"} <= filters


def test_a_canceled_futures_order_is_no_longer_open_but_still_found() -> None:
    with Simulator() as sim:
        sim.seed_futures_example()
        status, _, _ = signed_call(
            sim, "DELETE", "/papi/v1/um/order", f"symbol=BTCUSDT&orderId=8100&timestamp={now_ms(sim)}"
        )
        assert status == 200
        status, answer, _ = signed_call(
            sim, "GET", "/papi/v1/um/order", f"symbol=BTCUSDT&orderId=8100&timestamp={now_ms(sim)}"
        )
        assert (status, answer["status"]) == (200, "CANCELED")
        status, answer, _ = signed_call(
            sim, "GET", "/papi/v1/um/openOrder", f"symbol=BTCUSDT&orderId=8100&timestamp={now_ms(sim)}"
        )
        assert (status, answer["code"]) == (400, -2013)
        status, answer, _ = signed_call(
            sim, "DELETE", "/papi/v1/um/order", f"symbol=BTCUSDT&orderId=8100&timestamp={now_ms(sim)}"
        )
        assert (status, answer["code"]) == (400, -2011)
        named = f"symbol=BTCUSD_PERP&strategyId=4100&timestamp={now_ms(sim)}"
        status, answer, _ = signed_call(sim, "GET", "/papi/v1/cm/conditional/orderHistory", named)
        assert (status, answer["code"]) == (400, -2013)  # "NEW orders will not be found."
        sim.fill_futures("cm", 4100, conditional=True)
        status, answer, _ = signed_call(sim, "GET", "/papi/v1/cm/conditional/orderHistory", named)
        assert (status, answer["strategyStatus"], answer["status"]) == (200, "TRIGGERED", "NEW")


def test_a_connection_is_kept_alive_between_requests_and_cut_when_the_simulator_stops() -> None:
    sim = Simulator().start()
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        answers = []
        for _ in range(3):
            connection.request("GET", "/api/v3/ping")
            answer = connection.getresponse()
            answers.append((answer.status, answer.read(), answer.getheader("Connection")))
            if len(answers) == 1:
                first = connection.sock
        assert answers == [(200, b"{}", None)] * 3
        assert first is not None and connection.sock is first  # one connection, kept open, as Binance keeps it
    finally:
        stopping = threading.Thread(target=sim.stop)
        stopping.start()
        stopping.join(10)
    # stop() did not wait for the client to let go of its idle connection: it cut it.
    assert not stopping.is_alive()
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        connection.request("GET", "/api/v3/ping")
        connection.getresponse()
    connection.close()


def test_an_answer_whose_body_never_completes_closes_its_connection(sim: Simulator) -> None:
    sim.inject("GET /api/v3/ping", Fault.drop())
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        connection.request("GET", "/api/v3/ping")
        answer = connection.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            answer.read()
        connection.close()
        connection.request("GET", "/api/v3/ping")  # a new connection: the next answer is whole
        again = connection.getresponse()
        assert (again.status, again.read()) == (200, b"{}")
    finally:
        connection.close()
