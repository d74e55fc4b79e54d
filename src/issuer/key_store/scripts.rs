//! The Lua scripts of the store: install-if-absent, the version poll and the
//! compare-and-swap, each atomic and one round trip.

/// KEYS: the set. ARGV: a candidate document. Installs the candidate when
/// nothing is stored; returns {1, candidate} then, else {0, stored}.
pub(super) const INIT_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if d then
  return {0, d}
end
redis.call('SET', KEYS[1], ARGV[1])
return {1, ARGV[1]}
";

/// KEYS: the set. ARGV: the version the caller holds (or -1). Returns nil
/// when nothing is stored, '' when the stored version is the caller's, else
/// the stored document (an unreadable one included, for the caller to
/// report).
pub(super) const POLL_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if not d then
  return false
end
local ok, set = pcall(cjson.decode, d)
if ok and type(set) == 'table' and set.version == tonumber(ARGV[1]) then
  return ''
end
return d
";

/// KEYS: the set. ARGV: expected version, new document. Replaces the
/// document only if it still has the expected version: returns 1 then, 0
/// when the version moved on (or the stored document is unreadable), -1
/// when nothing is stored.
pub(super) const CAS_SCRIPT: &str = r"
local d = redis.call('GET', KEYS[1])
if not d then
  return -1
end
local ok, set = pcall(cjson.decode, d)
if not (ok and type(set) == 'table' and set.version == tonumber(ARGV[1])) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";
