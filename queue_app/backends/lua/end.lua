-- ARGV: now, retention, user_id, reason -> the ended token, or nil
local token = redis.call('HGET', USERS, ARGV[3])
if not token then return false end
if not is_live(redis.call('HGET', PASS .. token, 'status')) then
  redis.call('HDEL', USERS, ARGV[3])
  return false
end
end_pass(token, ARGV[1], ARGV[4], ARGV[2])
return token
