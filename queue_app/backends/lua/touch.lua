-- ARGV: token, waiting_until, poll_after
local key = PASS .. ARGV[1]
if redis.call('HGET', key, 'status') ~= 'WAITING' then return 0 end
redis.call('HSET', key, 'expires_at', ARGV[2], 'poll_after', ARGV[3])
redis.call('ZADD', DEADLINE, ARGV[2], ARGV[1])
return 1
