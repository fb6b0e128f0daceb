"""What ``papi_plugin.extend`` adds to a ccxt binance object: the margin capabilities, the futures and
whole-account ones, and the dead-man's switch's arming call."""
