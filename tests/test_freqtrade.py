"""The freqtrade recipe of docs/frameworks.md, run by a real freqtrade bot against the simulator.

freqtrade builds its exchange, loads the strategy from the recipe's file, calls its ``bot_start`` and, in
one iteration of its own loop (``FreqtradeBot.process``), its ``bot_loop_start``: the strategy's kill switch
flattens the simulated account through freqtrade's own ccxt binance.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import ccxt
import pytest

from papi_plugin.cli import MARKET_OPTIONS
from papi_plugin.simulator import Simulator
from tests.helpers import required

FRAMEWORKS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "frameworks.md"
[RECIPE] = re.findall(r"```python\n(.*?)```", FRAMEWORKS.read_text(), re.DOTALL)
INSTALL = "pip install '.[freqtrade]' (Python 3.11+)"


def freqtrade_config(sim: Simulator, user_data: pathlib.Path, kill_switch: bool) -> dict[str, Any]:
    """A dry-run spot config for the recipe's strategy, every API of its ccxt objects on the simulator."""
    from freqtrade.enums import RunMode

    ccxt_config = {"urls": {"api": sim.attach(ccxt.binance()).urls["api"]}, "options": MARKET_OPTIONS}
    return {
        "runmode": RunMode.DRY_RUN,
        "dry_run": True,
        "dry_run_wallet": 1000,
        "max_open_trades": 1,
        "stake_currency": "USDT",
        "stake_amount": 10,
        "timeframe": "5m",
        "trading_mode": "spot",
        "margin_mode": "",
        "exchange": {
            "name": "binance",
            "key": sim.api_key,
            "secret": sim.secret,
            "_ft_has_params": {"always_require_api_keys": True},  # as the recipe says, for dry-run
            "ccxt_config": ccxt_config,
            "ccxt_async_config": ccxt_config,
            "pair_whitelist": ["BTC/USDT"],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False, "price_last_balance": 0.0},
        "exit_pricing": {"price_side": "same", "use_order_book": False},
        "strategy": "WithKillSwitch",
        "strategy_path": str(user_data / "strategies"),
        "user_data_dir": user_data,
        "datadir": user_data / "data",
        "db_url": "sqlite://",
        "internals": {},
        "kill_switch": kill_switch,
        "original_config": {},
    }


@pytest.fixture
def user_data(tmp_path: pathlib.Path) -> pathlib.Path:
    """A freqtrade user_data folder holding the recipe's strategy file, as written in the docs."""
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "with_kill_switch.py").write_text(RECIPE)
    return tmp_path


@pytest.mark.parametrize("kill_switch", [True, False], ids=["pulled", "not-pulled"])
def test_a_freqtrade_bot_pulls_the_recipes_kill_switch(user_data: pathlib.Path, kill_switch: bool) -> None:
    required("freqtrade", INSTALL)
    from freqtrade.freqtradebot import FreqtradeBot

    with Simulator() as sim:
        sim.seed_documented_example()
        sim.seed_futures_example()
        bot = FreqtradeBot(freqtrade_config(sim, user_data, kill_switch))
        try:
            assert bot.strategy.papi is bot.exchange._api  # bot_start ran: freqtrade's own ccxt object
            assert bot.exchange._api.has["cancelAllPortfolioOrders"] is True
            bot.process()  # one iteration of freqtrade's loop: bot_loop_start among it
        finally:
            bot.cleanup()
        futures = [sim.open_futures(kind, conditional) for kind in ("um", "cm") for conditional in (False, True)]
        if kill_switch:
            assert sim.open_orders() == [] and sim.open_lists() == [] and not any(futures)
            assert sim.seen("DELETE", "/papi/v1/margin/allOpenOrders")
        else:
            assert len(sim.open_orders()) == 3 and all(futures)
            assert not sim.seen("DELETE", "/papi/v1/margin/allOpenOrders")


def test_in_backtesting_the_helper_refuses(user_data: pathlib.Path) -> None:
    required("freqtrade", INSTALL)
    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.enums import RunMode
    from freqtrade.freqtradebot import FreqtradeBot

    import papi_plugin.freqtrade

    with Simulator() as sim:
        bot = FreqtradeBot(freqtrade_config(sim, user_data, kill_switch=False))
        try:
            bot.strategy.dp = DataProvider({**bot.config, "runmode": RunMode.BACKTEST}, bot.exchange)
            with pytest.raises(ccxt.NotSupported, match="run mode backtest"):
                papi_plugin.freqtrade.exchange_of(bot.strategy)
        finally:
            bot.cleanup()
