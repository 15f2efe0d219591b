-- ARGV: now, user_id, until -> 1 if pushed out
local token = redis.call('HGET', USERS, ARGV[2])
if not token then return 0 end
local key = PASS .. token
if redis.call('HGET', key, 'status') ~= 'ACTIVE' then return 0 end
local expires = tonumber(redis.call('HGET', key, 'expires_at'))
if expires <= tonumber(ARGV[1]) or expires >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', key, 'expires_at', ARGV[3])
redis.call('ZADD', ACTIVE_Z, ARGV[3], token)
return 1
