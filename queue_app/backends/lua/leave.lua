-- ARGV: now, retention, token, user_id -> 1 if ended
local key = PASS .. ARGV[3]
if redis.call('HGET', key, 'user_id') ~= ARGV[4] or not is_live(redis.call('HGET', key, 'status')) then
  return 0
end
end_pass(ARGV[3], ARGV[1], 'left', ARGV[2])
return 1
