-- ARGV: ended_before, limit -> {1 if the concert holds nothing any more else 0, purged token, ...}
local tokens = redis.call('ZRANGEBYSCORE', ENDED, '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, t in ipairs(tokens) do
  redis.call('DEL', PASS .. t)
  redis.call('ZREM', ENDED, t)
end
local held = redis.call('ZCARD', WAIT) + redis.call('ZCARD', ACTIVE_Z) + redis.call('ZCARD', ENDED)
local reply = {0}
if held == 0 then reply[1] = 1 end
for _, t in ipairs(tokens) do reply[#reply + 1] = t end
return reply
