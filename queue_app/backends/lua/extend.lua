-- ARGV: now, user_id, until, longest (microseconds after activation) -> the pass's end
-- afterwards, or false without a live ACTIVE pass. Never shortens it, never past the hard end.
local token = redis.call('HGET', USERS, ARGV[2])
if not token then return false end
local key = PASS .. token
local fields = redis.call('HMGET', key, 'status', 'expires_at', 'activated_at')
if fields[1] ~= 'ACTIVE' then return false end
local now, expires = tonumber(ARGV[1]), tonumber(fields[2])
if expires <= now then return false end
local hard_end = tonumber(fields[3] or ARGV[1]) + tonumber(ARGV[4])
local target = math.min(tonumber(ARGV[3]), hard_end)
if target <= expires then return fields[2] end
local target_s = string.format('%.0f', target)
redis.call('HSET', key, 'expires_at', target_s)
redis.call('ZADD', ACTIVE_Z, target_s, token)
return target_s
