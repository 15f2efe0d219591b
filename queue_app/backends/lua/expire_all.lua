-- ARGV: now, retention, limit -> the ended tokens (at most `limit`: the caller calls again)
local limit = tonumber(ARGV[3])
local ended = redis.call('ZRANGE', WAIT, 0, limit - 1)
if #ended < limit then
  for _, t in ipairs(redis.call('ZRANGE', ACTIVE_Z, 0, limit - #ended - 1)) do ended[#ended + 1] = t end
end
for _, t in ipairs(ended) do end_pass(t, ARGV[1], 'staff', ARGV[2]) end
return ended
