-- Helpers every script but poll.lua starts with (prepended in Python). KEYS: the concert's
-- 8 keys, in redis.py's _KEY_NAMES order.
local WAIT, PRE, DEADLINE, ACTIVE_Z = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local USERS, SEQ, ENDED, LOW = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
-- Pass hashes are named from the token, so they cannot be declared up front; they
-- share the concert's hash tag (same slot), so derive their prefix from a declared key.
local PASS = string.sub(WAIT, 1, -5) .. 'pass:'

local function is_live(status)
  return status == 'WAITING' or status == 'ACTIVE'
end

-- End a pass: out of every index, marked EXPIRED, kept (with a TTL) for the 410.
local function end_pass(token, now_s, reason, retention)
  local key = PASS .. token
  local user = redis.call('HGET', key, 'user_id')
  redis.call('HSET', key, 'status', 'EXPIRED', 'ended_at', now_s, 'end_reason', reason)
  redis.call('EXPIRE', key, retention)
  redis.call('ZREM', WAIT, token)
  redis.call('ZREM', PRE, token)
  redis.call('ZREM', DEADLINE, token)
  redis.call('ZREM', ACTIVE_Z, token)
  if user and redis.call('HGET', USERS, user) == token then
    redis.call('HDEL', USERS, user)
  end
  redis.call('ZADD', ENDED, now_s, token)
end

local function activate(token, now_s, until_s)
  redis.call('HSET', PASS .. token, 'status', 'ACTIVE', 'expires_at', until_s, 'activated_at', now_s)
  redis.call('ZREM', WAIT, token)
  redis.call('ZREM', DEADLINE, token)
  redis.call('ZADD', ACTIVE_Z, until_s, token)
end

-- Up to n admissible passes from the front of the line (undrawn pre-queue passes and
-- idle ones not yet swept are skipped), looking no deeper than rank `last` if given.
local function front(n, now, last)
  local picked = {}
  if n <= 0 then return picked end
  local check_pre = redis.call('ZCARD', PRE) > 0
  local start, chunk = 0, math.min(math.max(n, 100), 5000)
  while #picked < n do
    local stop = start + chunk - 1
    if last and stop > last then stop = last end
    if last and start > last then break end
    local batch = redis.call('ZRANGE', WAIT, start, stop)
    if #batch == 0 then break end
    for _, token in ipairs(batch) do
      if not (check_pre and redis.call('ZSCORE', PRE, token)) then
        local deadline = redis.call('ZSCORE', DEADLINE, token)
        if deadline and tonumber(deadline) > now then
          picked[#picked + 1] = token
          if #picked >= n then break end
        end
      end
    end
    start = stop + 1
  end
  return picked
end
