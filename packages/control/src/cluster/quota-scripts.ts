/**
 * The Lua scripts behind cluster-wide quotas. Redis runs each script atomically, so a check and
 * its increment can never interleave with another node's.
 *
 * Keys (one Redis primary; Redis Cluster is not supported because the scripts derive keys):
 * - `cp:q:<region>:<appId>`: hash channel → live allocations of the app in the channel
 *   (its length is the app's live channels, for `maxChannels`);
 * - `cp:q:<region>:<appId>:<channel>`: hash uid → live allocations (its length is the channel's
 *   proxy users, for `maxProxyUsersPerChannel`; a value is the per-uid count);
 * - `cp:lease:<nodeId>`: hash lease id → JSON `[region, appId, channel, uid]`, every allocation
 *   a node counted. A node's leases are subtracted again when it releases them, when it re-syncs
 *   (it replaces all of them with its live allocations) and when it is reaped after its
 *   heartbeat stopped, so a killed node leaks nothing.
 *
 * The admit and release scripts publish on `cp:quota` when an app or channel becomes full
 * (with its members) or stops being full, so that every node can refuse synchronously with 486
 * from memory; resync and reap publish `reset` for the apps they touched.
 * @module
 */
import { LuaScript } from './lua-script.js';

/** The pub/sub channel of quota notices. */
export const QUOTA_CHANNEL = 'cp:quota';
/** The sorted set of nodes by last heartbeat (Redis time, ms). */
export const NODES_KEY = 'cp:nodes';

/** The hash of a node's leases. */
export function leaseKey(nodeId: string): string {
  return `cp:lease:${nodeId}`;
}

/** The hash channel → live allocations of an app in a region. */
export function channelsKey(region: string, appId: string): string {
  return `cp:q:${region}:${appId}`;
}

/** The hash uid → live allocations of a channel. */
export function uidsKey(region: string, appId: string, channel: string): string {
  return `cp:q:${region}:${appId}:${channel}`;
}

/** Shared Lua: add `delta` to one lease's counters (fields removed at zero). */
const COUNT = `
local function count(v, delta)
  local o = cjson.decode(v)
  local ck = 'cp:q:' .. o[1] .. ':' .. o[2]
  local uk = ck .. ':' .. o[3]
  if redis.call('HINCRBY', uk, o[4], delta) <= 0 then redis.call('HDEL', uk, o[4]) end
  if redis.call('HINCRBY', ck, o[3], delta) <= 0 then redis.call('HDEL', ck, o[3]) end
  return o
end
local function drop(lease)
  local apps = {}
  local all = redis.call('HGETALL', lease)
  for i = 2, #all, 2 do
    local o = count(all[i], -1)
    apps[o[1] .. ' ' .. o[2]] = true
  end
  redis.call('DEL', lease)
  return apps, #all / 2
end
local function reset(apps)
  for k in pairs(apps) do
    local r, a = string.match(k, '^(%S+) (%S+)$')
    redis.call('PUBLISH', '${QUOTA_CHANNEL}', cjson.encode({k = 'reset', r = r, a = a}))
  end
end
`;

/**
 * admit: KEYS = channels, uids, lease; ARGV = leaseId, region, appId, channel, uid, maxChannels
 * (-1: none), maxProxyUsers (-1: none), maxPerUid. Returns `{1}` when counted (or already
 * counted), `{0, reason}` when a limit is reached.
 */
export const ADMIT = new LuaScript(
  'admit',
  `
local ck, uk, lease = KEYS[1], KEYS[2], KEYS[3]
local id, region, app, ch, uid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxCh, maxUsers, maxUid = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if redis.call('HEXISTS', lease, id) == 1 then return {1} end
local held = tonumber(redis.call('HGET', uk, uid) or '0')
if held >= maxUid then return {0, 'max-allocations-per-uid'} end
local live = redis.call('HEXISTS', ck, ch) == 1
if maxCh >= 0 and not live and redis.call('HLEN', ck) >= maxCh then return {0, 'max-channels'} end
if maxUsers >= 0 and held == 0 and redis.call('HLEN', uk) >= maxUsers then
  return {0, 'max-proxy-users'}
end
redis.call('HINCRBY', uk, uid, 1)
redis.call('HINCRBY', ck, ch, 1)
redis.call('HSET', lease, id, cjson.encode({region, app, ch, uid}))
if maxCh >= 0 and not live and redis.call('HLEN', ck) == maxCh then
  redis.call('PUBLISH', '${QUOTA_CHANNEL}',
    cjson.encode({k = 'app', r = region, a = app, full = true, m = redis.call('HKEYS', ck)}))
end
if maxUsers >= 0 and held == 0 and redis.call('HLEN', uk) == maxUsers then
  redis.call('PUBLISH', '${QUOTA_CHANNEL}',
    cjson.encode({k = 'ch', r = region, a = app, c = ch, full = true, m = redis.call('HKEYS', uk)}))
end
return {1}
`,
);

/**
 * release: KEYS = channels, uids, lease; ARGV = leaseId, region, appId, channel, uid,
 * maxChannels, maxProxyUsers. Returns 1 when the lease existed (and was subtracted), else 0.
 */
export const RELEASE = new LuaScript(
  'release',
  `
local ck, uk, lease = KEYS[1], KEYS[2], KEYS[3]
local id, region, app, ch, uid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxCh, maxUsers = tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('HDEL', lease, id) == 0 then return 0 end
local u = redis.call('HINCRBY', uk, uid, -1)
if u <= 0 then
  redis.call('HDEL', uk, uid)
  if maxUsers >= 0 and redis.call('HLEN', uk) == maxUsers - 1 then
    redis.call('PUBLISH', '${QUOTA_CHANNEL}',
      cjson.encode({k = 'ch', r = region, a = app, c = ch, full = false}))
  end
end
if redis.call('HINCRBY', ck, ch, -1) <= 0 then
  redis.call('HDEL', ck, ch)
  if maxCh >= 0 and redis.call('HLEN', ck) == maxCh - 1 then
    redis.call('PUBLISH', '${QUOTA_CHANNEL}', cjson.encode({k = 'app', r = region, a = app, full = false}))
  end
end
return 1
`,
);

/**
 * resync: KEYS = lease; ARGV = pairs of leaseId, JSON `[region, appId, channel, uid]`. Replaces
 * the node's leases (and their counts) with the given live ones; returns how many were dropped.
 */
export const RESYNC = new LuaScript(
  'resync',
  `${COUNT}
local apps, dropped = drop(KEYS[1])
for i = 1, #ARGV, 2 do
  local o = count(ARGV[i + 1], 1)
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  apps[o[1] .. ' ' .. o[2]] = true
end
reset(apps)
return dropped
`,
);

/**
 * reap: KEYS = nodes (sorted set), lease, node key; ARGV = nodeId, ttlMs. When the node's last
 * heartbeat (Redis time) is older than ttlMs, subtracts its leases and forgets it; returns the
 * number of leases dropped, or -1 when the node is alive.
 */
export const REAP = new LuaScript(
  'reap',
  `${COUNT}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if last and tonumber(last) > now - tonumber(ARGV[2]) then return -1 end
local apps, dropped = drop(KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
reset(apps)
return dropped
`,
);

/**
 * heartbeat: KEYS = nodes (sorted set), node key; ARGV = nodeId, JSON description, ttlMs. Scores
 * the node with Redis time (no clock skew between nodes) and stores its description with a TTL;
 * returns Redis time in ms.
 */
export const HEARTBEAT = new LuaScript(
  'heartbeat',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return now
`,
);

/** The key of a node's description. */
export function nodeKey(nodeId: string): string {
  return `cp:node:${nodeId}`;
}
