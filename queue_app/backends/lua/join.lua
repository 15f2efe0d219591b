-- ARGV: now, retention, token, user_id, prequeue, waiting_until, poll_after, concert_id,
--       cap (-1: no instant entry), active_until
-- -> {created, token, lapsed_token or '', rank or -1, field, value, ...}
-- One round trip for a join: find the user's live pass, or end a lapsed one and put a new pass
-- at the back; then, if asked, instant entry as admit_through.lua does it (the new pass and all
-- admissible ahead of it, if they fit under the cap). The rank is the pass's place in the wait
-- zset afterwards (-1 when it is not waiting).
local now_s, retention = ARGV[1], ARGV[2]
local now = tonumber(now_s)
local token, user, prequeue, until_s, poll_after, concert = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local cap, active_until = tonumber(ARGV[9]), ARGV[10]

local function reply_for(created, t, lapsed_token)
  local reply = {created, t, lapsed_token, redis.call('ZRANK', WAIT, t) or -1}
  for _, v in ipairs(redis.call('HGETALL', PASS .. t)) do reply[#reply + 1] = v end
  return reply
end

local lapsed = ''
local current = redis.call('HGET', USERS, user)
if current then
  local key = PASS .. current
  local status = redis.call('HGET', key, 'status')
  if is_live(status) then
    if tonumber(redis.call('HGET', key, 'expires_at')) > now then
      return reply_for(0, current, '')
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
if cap > 0 and prequeue == '0' then
  local rank = redis.call('ZRANK', WAIT, token)
  -- Fewer than `cap` waiting ahead (else the line is longer than the room: nothing to do).
  if rank < cap then
    local room = cap - redis.call('ZCOUNT', ACTIVE_Z, '(' .. now_s, '+inf')
    if room > 0 then
      local picked = front(room + 1, now, rank)
      if #picked <= room then
        for _, t in ipairs(picked) do activate(t, now_s, active_until) end
      end
    end
  end
end
return reply_for(1, token, lapsed)
