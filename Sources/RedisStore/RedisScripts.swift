// The Lua the shared store runs in Redis. A script runs atomically (nothing else runs on the
// server meanwhile), which is what makes a publish on N nodes behave as on one: the idempotency
// check, the seq, the limits, the append and the pub/sub message happen as one step, and every
// node sees the same seqs in the same order.
//
// A key K has (hash-tagged, one cluster slot):
//   <prefix>:{K}:log   stream, entry id "<seq>-0", fields o (StoredOutcome bytes), e (expiresAt ms), c (cost)
//   <prefix>:{K}:meta  hash: seq (last given), bytes (retained cost), i:<idempotency key> → seq,
//                      a:<session> → the seq that session acknowledged (a `session` resume on any node)
//   <prefix>:{K}       the sharded pub/sub channel nodes following K listen on
// Both expire with the key's last outcome; meta one retention later, so a subscriber resuming by
// seq does not see numbering restart while it may still care (the tombstone of HubCore).
import HubBytes

enum RedisScripts {
    /// KEYS: log, meta. ARGV: channel, now, idempotency key ("" for none), max outcomes, max
    /// bytes, cost, expiresAt, meta expiry, and the stored outcome after its seq (StoredOutcome.tail).
    /// Returns {1, stored, following nodes} | {0, original} (a duplicate) | {-1, reason}.
    static let publish = """
    local log, meta = KEYS[1], KEYS[2]
    local now = tonumber(ARGV[2])
    for _ = 1, 64 do
      local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
      if not first or tonumber(first[2][4]) > now then break end
      redis.call('XDEL', log, first[1])
      redis.call('HINCRBY', meta, 'bytes', -tonumber(first[2][6]))
    end
    local idem = ARGV[3]
    if idem ~= '' then
      local seen = redis.call('HGET', meta, 'i:' .. idem)
      if seen then
        local hit = redis.call('XRANGE', log, seen .. '-0', seen .. '-0')[1]
        if hit then return {0, hit[2][2]} end
      end
    end
    if redis.call('XLEN', log) >= tonumber(ARGV[4]) then return {-1, 'outcomes'} end
    if tonumber(redis.call('HGET', meta, 'bytes') or '0') + tonumber(ARGV[6]) > tonumber(ARGV[5]) then return {-1, 'bytes'} end
    local seq = tostring(redis.call('HINCRBY', meta, 'seq', 1))
    local stored = #seq .. ':' .. seq .. ARGV[9]
    redis.call('XADD', log, seq .. '-0', 'o', stored, 'e', ARGV[7], 'c', ARGV[6])
    redis.call('HINCRBY', meta, 'bytes', ARGV[6])
    if idem ~= '' then redis.call('HSET', meta, 'i:' .. idem, seq) end
    redis.call('PEXPIREAT', log, ARGV[7])
    redis.call('PEXPIREAT', meta, ARGV[8])
    return {1, stored, redis.call('SPUBLISH', ARGV[1], stored)}
    """

    /// KEYS: log, meta. ARGV: after (a seq). Returns {next seq, stored…}: the retained outcomes
    /// after `after`, read in the same step as the counter so the two agree.
    static let read = """
    local last = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
    local out = {last + 1}
    for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-0', '+')) do out[#out + 1] = entry[2][2] end
    return out
    """

    /// KEYS: meta. ARGV: session, seq. Records that the session processed the key up to seq:
    /// never lower than before, never past the last seq the key gave (an ack ahead of the key
    /// would hide its next outcomes from a resume). A key Redis no longer holds records nothing
    /// (and gets no hash without an expiry). Returns the recorded ack.
    static let ack = """
    local given = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
    if given == 0 then return 0 end
    local field = 'a:' .. ARGV[1]
    local acked = math.max(tonumber(redis.call('HGET', KEYS[1], field) or '0'), math.min(tonumber(ARGV[2]), given))
    redis.call('HSET', KEYS[1], field, string.format('%d', acked))
    return acked
    """

    static let publishSHA = sha1Hex(publish)
    static let readSHA = sha1Hex(read)
    static let ackSHA = sha1Hex(ack)

    /// Redis names scripts by the SHA-1 of their text (EVALSHA).
    static func sha1Hex(_ text: String) -> String {
        SHA1.digest(Array(text.utf8)).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
