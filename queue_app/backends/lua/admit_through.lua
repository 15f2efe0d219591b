-- ARGV: now, token, cap, active_until -> the pass's fields if it is (already or now) ACTIVE, else nil
local now_s, token, cap, until_s = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now = tonumber(now_s)
local key = PASS .. token
local status = redis.call('HGET', key, 'status')
if status == 'ACTIVE' and tonumber(redis.call('HGET', key, 'expires_at')) > now then
  -- Someone who joined just behind it admitted it with themselves: report it as admitted.
  return redis.call('HGETALL', key)
end
if cap <= 0 or status ~= 'WAITING' or redis.call('HGET', key, 'prequeue') ~= '0' then
  return false
end
local rank = redis.call('ZRANK', WAIT, token)
-- At least `cap` waiting ahead: the line is longer than the room.
if not rank or rank >= cap then return false end
local room = cap - redis.call('ZCOUNT', ACTIVE_Z, '(' .. now_s, '+inf')
if room <= 0 then return false end
local picked = front(room + 1, now, rank)
if #picked > room then return false end
for _, t in ipairs(picked) do activate(t, now_s, until_s) end
if redis.call('HGET', key, 'status') ~= 'ACTIVE' then return false end
return redis.call('HGETALL', key)
