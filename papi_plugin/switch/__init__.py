"""The dead-man's switch: the bot's arming call, the guard that fires for a dead bot, and the switch's records.

``arming`` is the bot's side, ``guard`` and ``timing`` the watcher's, ``records`` what is read back from a
store (checked, never trusted), ``base`` the store interface that ``memory``, ``sqlite`` and ``redis``
implement, ``stores`` opens one from its URL (never another one), ``notify`` speaks systemd's notify
protocol. The IP's ban gate and weight budget are ``limits/``'s.
"""
