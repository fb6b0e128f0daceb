"""The whole-answer watchdog's thread: started with the first watch, and again if it ever died."""

from __future__ import annotations

import threading

from papi_plugin.wire.watchdog import Watchdog


def test_a_watchdog_whose_thread_died_starts_another_with_the_next_watch() -> None:
    watchdog = Watchdog()
    watch, token = watchdog.watch(60)
    first = watchdog._thread
    assert first is not None and first.is_alive()
    watchdog.release(watch, token)
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    watchdog._thread = dead  # as a thread killed by an error would be left
    watch, token = watchdog.watch(60)
    assert watchdog._thread is not dead and watchdog._thread is not None and watchdog._thread.is_alive()
    watchdog.release(watch, token)
