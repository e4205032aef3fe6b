/*
 * The Redis backend's server-side scripts (Lua), one per SCR_* of redis-backend.h. Each makes one step
 * atomic on the server: a pop that honours a capacity, a move, the namespace protocol, the batches. They run
 * by EVALSHA (their digests come from SCRIPT LOAD when the backend opens), and by EVAL where a node answers
 * NOSCRIPT.
 */
#include "redis-backend.h"

const char *const rb_script_src[SCR_COUNT] = {
  [SCR_PUT_IF_ABSENT] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('RPUSH', KEYS[1], ARGV[1])\n"
    "return 1\n",
  [SCR_POP_PUT] =
    "if not redis.call('LPOP', KEYS[1]) then return 0 end\n"
    "redis.call('RPUSH', KEYS[2], ARGV[1])\n"
    "return 1\n",
  [SCR_MOVE_MANY] =
    "local ns = tonumber(ARGV[1])\n"
    "local out, s = {}, 1\n"
    "for d = ns + 1, #KEYS do\n"
    "  local v\n"
    "  while s <= ns do\n"
    "    v = redis.call('LMOVE', KEYS[s], KEYS[d], 'LEFT', 'RIGHT')\n"
    "    if v then break end\n"
    "    s = s + 1\n"
    "  end\n"
    "  if not v then break end\n"
    "  out[#out + 1] = v\n"
    "end\n"
    "return out\n",
  [SCR_STEPS] =
    /* one letter per step, 'a' + bits: 1 pop, 2 put, 4 unless, 8 peek at unless; keys: unless, pop, put */
    "local kinds, out, k, a = ARGV[1], {}, 1, 2\n"
    "for i = 1, #kinds do\n"
    "  local m = string.byte(kinds, i) - 97\n"
    "  local ku, kp, kq\n"
    "  if math.floor(m / 4) % 2 == 1 then ku = KEYS[k]; k = k + 1 end\n"
    "  if m % 2 == 1 then kp = KEYS[k]; k = k + 1 end\n"
    "  if math.floor(m / 2) % 2 == 1 then kq = KEYS[k]; k = k + 1 end\n"
    "  local r = 1\n"
    "  if ku and redis.call('LLEN', ku) > 0 then\n"
    "    if math.floor(m / 8) % 2 == 0 then redis.call('LPOP', ku) end\n"
    "    r = 2\n"
    "  elseif kp and not redis.call('LPOP', kp) then\n"
    "    r = 0\n"
    "  elseif kq then\n"
    "    redis.call('RPUSH', kq, ARGV[a])\n"
    "  end\n"
    "  if kq then a = a + 1 end\n"
    "  out[i] = r\n"
    "end\n"
    "return out\n",
  [SCR_POP_FIT] =
    "local v = redis.call('LINDEX', KEYS[1], 0)\n"
    "if not v then return false end\n"
    "local cap = tonumber(ARGV[1])\n"
    "if cap >= 0 and #v > cap then return #v end\n"
    "redis.call('LPOP', KEYS[1])\n"
    "return v\n",
  [SCR_MOVE_FIT] =
    "local v = redis.call('LINDEX', KEYS[1], 0)\n"
    "if not v then return false end\n"
    "local cap = tonumber(ARGV[1])\n"
    "if cap >= 0 and #v > cap then return #v end\n"
    "redis.call('LPOP', KEYS[1])\n"
    "redis.call('RPUSH', KEYS[2], v)\n"
    "return v\n",
  [SCR_GIVE_BACK] =
    "if redis.call('LREM', KEYS[2], -1, ARGV[1]) > 0 then\n"
    "  redis.call('LPUSH', KEYS[1], ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
  [SCR_MOVE_LIST] =
    "if KEYS[1] == KEYS[2] then return redis.call('LLEN', KEYS[1]) end\n"
    "local n = 0\n"
    "while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end\n"
    "return n\n",
  [SCR_NS_CREATE] =
    "if redis.call('HSETNX', KEYS[1], 'id', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HMSET', KEYS[1], 'refcnt', '1', 'groups', '', 'flags', '0')\n"
    "return 1\n",
  [SCR_NS_ATTACH] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HEXISTS', KEYS[1], 'id') == 0 then\n"
    "  return -2\n"
    "end\n"
    "if redis.call('HGET', KEYS[1], 'flags') == '1' then return -3 end\n"
    "return redis.call('HINCRBY', KEYS[1], 'refcnt', 1)\n",
  [SCR_NS_DETACH] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end\n"
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {-1, 0} end\n"
    "local n = redis.call('HINCRBY', KEYS[1], 'refcnt', ARGV[1])\n"
    "if n < 0 then redis.call('HSET', KEYS[1], 'refcnt', '0') n = 0 end\n"
    "if redis.call('HGET', KEYS[1], 'flags') == '1' then return {n, 1} end\n"
    "return {n, 0}\n",
  [SCR_NS_DELETE] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HEXISTS', KEYS[1], 'id') == 0 then\n"
    "  return -2\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'flags', '1')\n"
    "local n = tonumber(redis.call('HGET', KEYS[1], 'refcnt') or '0') or 0\n"
    "if n > 0 then return n end\n"
    "return 0\n",
  [SCR_NS_DROP] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local n = tonumber(redis.call('HGET', KEYS[1], 'refcnt') or '0') or 0\n"
    "if n <= 0 and redis.call('HGET', KEYS[1], 'flags') == '1' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
  [SCR_NS_RELEASE] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "local n = redis.call('HINCRBY', KEYS[1], 'refcnt', ARGV[1])\n"
    "if n < 0 then redis.call('HSET', KEYS[1], 'refcnt', '0') n = 0 end\n"
    "return n\n",
  [SCR_UNREG] =
    "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)\n"
    "if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "if n < 0 then return 0 end\n"
    "return 1\n",
  [SCR_REAP] =
    "local total = 0\n"
    "for i = 1, #ARGV do\n"
    "  local c = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') or 0\n"
    "  if c > 0 then total = total + c end\n"
    "  redis.call('HDEL', KEYS[1], ARGV[i])\n"
    "end\n"
    "return total\n",
};
