-- ARGV: the undrawn tokens in drawn order -> number drawn, or -1 if the pre-queue
-- changed since Python read it (someone arrived: read again and redraw).
local n = #ARGV
local present = 0
for i = 1, n do
  if redis.call('ZSCORE', PRE, ARGV[i]) then present = present + 1 end
end
if present ~= redis.call('ZCARD', PRE) then return -1 end
-- Below every key handed out so far, so a later draw (opening moved) still goes first.
local first = tonumber(redis.call('GET', LOW) or '0')
for i = 1, n do
  local token = ARGV[i]
  if redis.call('ZSCORE', PRE, token) then
    local order_key = first - n + i - 1
    redis.call('ZADD', WAIT, order_key, token)
    redis.call('ZREM', PRE, token)
    redis.call('HSET', PASS .. token, 'order_key', order_key)
  end
end
redis.call('SET', LOW, first - n)
return present
