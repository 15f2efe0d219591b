-- ARGV: now, retention, token, user_id, prequeue, waiting_until, poll_after, concert_id
-- -> {created, token, lapsed_token or '', field, value, ...}
local now_s, retention = ARGV[1], ARGV[2]
local now = tonumber(now_s)
local token, user, prequeue, until_s, poll_after, concert = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local lapsed = ''
local current = redis.call('HGET', USERS, user)
if current then
  local key = PASS .. current
  local status = redis.call('HGET', key, 'status')
  if is_live(status) then
    if tonumber(redis.call('HGET', key, 'expires_at')) > now then
      local reply = {0, current, ''}
      for _, v in ipairs(redis.call('HGETALL', key)) do reply[#reply + 1] = v end
      return reply
    end
    -- Past its expiry (no sweep yet): it ends now and the new pass goes to the back.
    end_pass(current, now_s, 'lapsed', retention)
    lapsed = current
  else
    redis.call('HDEL', USERS, user)
  end
end
local seq = redis.call('INCR', SEQ)
local key = PASS .. token
local order_key = seq
if prequeue == '1' then order_key = '' end
redis.call('HSET', key, 'concert_id', concert, 'user_id', user, 'status', 'WAITING', 'arrival', seq,
  'order_key', order_key, 'prequeue', prequeue, 'poll_after', poll_after, 'expires_at', until_s,
  'created_at', now_s)
-- An undrawn pass waits at its arrival place (it counts in positions) but is not admissible.
redis.call('ZADD', WAIT, seq, token)
if prequeue == '1' then redis.call('ZADD', PRE, seq, token) end
redis.call('ZADD', DEADLINE, until_s, token)
redis.call('HSET', USERS, user, token)
local reply = {1, token, lapsed}
for _, v in ipairs(redis.call('HGETALL', key)) do reply[#reply + 1] = v end
return reply
