-- KEYS: the concert's wait and deadline zsets, the pass hash. ARGV: token, now, idle floor (µs),
-- then redis.py's _RECORD_FIELDS -> {rank or -1, value, ...}, or nil if the pass is gone.
-- One round trip, whatever the line's length. A live WAITING pass is also kept alive here, as
-- `touch` would with the advice it was last given (the deadline goes out to now + idle span when
-- that moves it by a third of the span or more; the span mirrors `selectors.idle_span`), so most
-- polls need no second call: Python touches again only when the new advice differs.
local values = redis.call('HMGET', KEYS[3], unpack(ARGV, 4))
if not values[3] then return false end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if values[3] == 'WAITING' then
  local now, expires = tonumber(ARGV[2]), tonumber(values[7])
  if expires > now then
    local span = math.max(tonumber(ARGV[3]), 3000000 * tonumber(values[6]))
    if now + span - expires >= span / 3 then
      values[7] = string.format('%.0f', now + span)
      redis.call('HSET', KEYS[3], 'expires_at', values[7])
      redis.call('ZADD', KEYS[2], values[7], ARGV[1])
    end
  end
end
local reply = {rank or -1}
for i = 1, #values do reply[i + 1] = values[i] or '' end
return reply
