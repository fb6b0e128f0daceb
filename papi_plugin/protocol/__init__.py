"""What the plugin asks of Binance and what the answers mean, without I/O: the endpoints, the capabilities'
names and arguments, the kinds of orders, the flows (generators that yield requests), the answers' rules
and their parsing into ccxt unified orders. A test steps any of it by hand."""
