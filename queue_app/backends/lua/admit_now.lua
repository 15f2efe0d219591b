-- ARGV: now, count, cap, active_until -> admitted
local now_s = ARGV[1]
local room = tonumber(ARGV[3]) - redis.call('ZCOUNT', ACTIVE_Z, '(' .. now_s, '+inf')
local picked = front(math.min(tonumber(ARGV[2]), room), tonumber(now_s), nil)
for _, t in ipairs(picked) do activate(t, now_s, ARGV[4]) end
return #picked
