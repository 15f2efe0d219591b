-- ARGV: now, retention, admit, batch, cap, active_until, limit
-- -> {admitted, idle_expired, active_expired, waiting, active, more, ended token, ...}
-- Ends at most `limit` passes of each kind per call, so a mass expiry never blocks Redis for
-- long; while `more` is set the caller calls again, and admission runs only in the call that
-- finds the sweep complete.
local now_s, retention, limit = ARGV[1], ARGV[2], tonumber(ARGV[7])
local now = tonumber(now_s)
local ended = {}
local idle = redis.call('ZRANGEBYSCORE', DEADLINE, '-inf', now_s, 'LIMIT', 0, limit)
for _, t in ipairs(idle) do end_pass(t, now_s, 'idle', retention); ended[#ended + 1] = t end
local lapsed = redis.call('ZRANGEBYSCORE', ACTIVE_Z, '-inf', now_s, 'LIMIT', 0, limit)
for _, t in ipairs(lapsed) do end_pass(t, now_s, 'lapsed', retention); ended[#ended + 1] = t end
local more = 0
if #idle == limit or #lapsed == limit then more = 1 end
local active = redis.call('ZCOUNT', ACTIVE_Z, '(' .. now_s, '+inf')
local admitted = 0
if more == 0 and ARGV[3] == '1' then
  local picked = front(math.min(tonumber(ARGV[4]), tonumber(ARGV[5]) - active), now, nil)
  for _, t in ipairs(picked) do activate(t, now_s, ARGV[6]) end
  admitted = #picked
end
local reply = {admitted, #idle, #lapsed, redis.call('ZCARD', WAIT), active + admitted, more}
for _, t in ipairs(ended) do reply[#reply + 1] = t end
return reply
