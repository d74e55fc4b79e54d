//! The Lua scripts of [`RedisStore`](super::RedisStore): every write and the
//! request lookup run as one script each, so each is atomic and one round
//! trip. The scripts derive the customer-index keys themselves, so the store
//! needs a single Redis (or a primary with replicas), not Redis Cluster.

/// Shared by the scripts: raise the expiry of index set `k` to `at` (ms since
/// the epoch) unless it already lives longer. Never shortens it, and never
/// expires it for a deadline already past (that would drop other members).
pub(super) const EXTEND_INDEX: &str = r"
local function extend(k, at)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if at <= now then
    return
  end
  local pttl = redis.call('PTTL', k)
  if pttl == -1 or (pttl >= 0 and at > now + pttl) then
    redis.call('PEXPIREAT', k, at)
  end
end
";

/// Shared by the write scripts: the Redis deadline of a session from its
/// absolute expiry `x`, idle timeout `i` ('' for none) and last use `l`
/// (all ms), capped at `cap`.
pub(super) const DEADLINE: &str = r"
local function deadline(x, i, l, cap)
  local d = tonumber(x)
  if i ~= '' then
    d = math.min(d, tonumber(l) + tonumber(i))
  end
  return math.min(d, cap)
end
";

/// KEYS: session, customer index (or absent). ARGV: version, data, deadline
/// cap, account, customer (or ""), session id, last seen, expires at, idle
/// timeout (or ""). The fields `l`, `x`, `i` let the lookup script slide an
/// idle deadline without parsing the JSON record.
pub(super) const INSERT_BODY: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'a', ARGV[4], 'c', ARGV[5],
  'l', ARGV[7], 'x', ARGV[8], 'i', ARGV[9])
local at = deadline(ARGV[8], ARGV[9], ARGV[7], tonumber(ARGV[3]))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', at))
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[6])
  extend(KEYS[2], at)
end
return 1
";

/// KEYS: session, customer index (or absent). ARGV: expected version, new
/// version, data, deadline cap, account, customer (or ""), session id, last
/// seen, expires at, idle timeout (or ""). Last use never moves back (a
/// lookup may have slid it since the record was read).
pub(super) const CAS_BODY: &str = r"
local cur = redis.call('HMGET', KEYS[1], 'v', 'l')
if (not cur[1]) or cur[1] ~= ARGV[1] then
  return 0
end
local l = ARGV[8]
if cur[2] and tonumber(cur[2]) and tonumber(cur[2]) > tonumber(l) then
  l = cur[2]
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'a', ARGV[5], 'c', ARGV[6],
  'l', l, 'x', ARGV[9], 'i', ARGV[10])
local at = deadline(ARGV[9], ARGV[10], l, tonumber(ARGV[4]))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', at))
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[7])
  extend(KEYS[2], at)
end
return 1
";

/// KEYS: session. ARGV: key prefix, deadline cap, '1' to allow slack. The
/// request lookup in one round trip: returns {version, data, last seen,
/// legacy} (nil when absent) and, for a live session with an idle timeout,
/// slides its deadline to now + idle (never past its absolute expiry),
/// keeping its customer index alive. With slack allowed, a session slid
/// less than `touch_slack` ago (idle/20, at most 5 s) is not slid again.
pub(super) const LOOKUP_BODY: &str = r"
local h = redis.call('HMGET', KEYS[1], 'v', 'd', 'l', 'x', 'i', 'a', 'c')
if not h[2] then
  return false
end
local l = h[3] or '0'
if h[5] and h[5] ~= '' and h[4] then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local slack = 1
  if ARGV[3] == '1' then
    slack = math.max(math.min(math.floor(tonumber(h[5]) / 20), 5000), 1)
  end
  if now >= tonumber(l) + slack and now < deadline(h[4], h[5], l, math.huge) then
    l = string.format('%d', now)
    redis.call('HSET', KEYS[1], 'l', l)
    local at = deadline(h[4], h[5], l, tonumber(ARGV[2]))
    redis.call('PEXPIREAT', KEYS[1], string.format('%d', at))
    if h[6] and h[7] and h[7] ~= '' then
      extend(ARGV[1] .. 'cust:' .. h[6] .. ':' .. h[7], at)
    end
  end
end
local legacy = '0'
if not h[4] then
  legacy = '1'
end
return {h[1], h[2], l, legacy}
";

/// KEYS: session. ARGV: key prefix, session id. Also drops the ID from its
/// customer index.
pub(super) const REMOVE_SCRIPT: &str = r"
local ac = redis.call('HMGET', KEYS[1], 'a', 'c')
local n = redis.call('DEL', KEYS[1])
if n == 1 and ac[1] and ac[2] and ac[2] ~= '' then
  redis.call('SREM', ARGV[1] .. 'cust:' .. ac[1] .. ':' .. ac[2], ARGV[2])
end
return n
";

/// KEYS: customer index. ARGV: key prefix, account, customer. Deletes only
/// sessions whose stored account and customer match exactly and returns
/// their IDs. Members of other customers (the index key of `a:b`/`c` is the
/// one of `a`/`b:c`) stay; members whose session is gone are dropped.
pub(super) const REMOVE_CUSTOMER_SCRIPT: &str = r"
local removed = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. 'sess:' .. id
  local ac = redis.call('HMGET', k, 'a', 'c')
  if ac[1] == ARGV[2] and ac[2] == ARGV[3] then
    redis.call('DEL', k)
    redis.call('SREM', KEYS[1], id)
    removed[#removed + 1] = id
  elseif not ac[1] then
    redis.call('SREM', KEYS[1], id)
  end
end
return removed
";
