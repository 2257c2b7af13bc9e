"""Token-bucket rate limits: in this process's memory, or in Redis so replicas share them."""

from __future__ import annotations

import math
import threading
import time

from crm_gateway.errors import ApiError

# Atomic token bucket in Redis: refill by elapsed time, take one token or report the wait.
_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RateLimiter:
    """Named buckets of `per_minute` requests with a burst of the same size."""

    def __init__(self, redis_url: str = ""):
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5)
            self._script = self._redis.register_script(_LUA)

    def _take_local(self, key: str, rate: float, burst: float) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, ts = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - ts) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return (1 - tokens) / rate

    def hit(self, key: str, per_minute: int) -> None:
        """Take one token from bucket `key`; raise 429 with Retry-After when empty."""
        if per_minute <= 0:
            return
        rate, burst = per_minute / 60.0, float(per_minute)
        if self._redis is not None:
            wait = float(self._script(keys=[f"crm:rl:{key}"], args=[rate, burst, time.time()]))
        else:
            wait = self._take_local(key, rate, burst)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, "rate_limited", headers={"Retry-After": retry}, retry_after=retry)
