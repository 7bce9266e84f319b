import { createIdGenerator, snowflakeTime, SNOWFLAKE_EPOCH_MS } from '../../src/cluster/ids';

describe('Snowflake ids', () => {
  it('strictly increase within a generator, also past 4096 in one millisecond', () => {
    const gen = createIdGenerator({ workerId: 3, now: () => SNOWFLAKE_EPOCH_MS + 1000 });
    const ids = Array.from({ length: 10_000 }, () => BigInt(gen.next()));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });

  it('keep increasing when the clock steps back', () => {
    let t = SNOWFLAKE_EPOCH_MS + 5000;
    const gen = createIdGenerator({ workerId: 1, now: () => t });
    const a = BigInt(gen.next());
    t -= 2000;
    expect(BigInt(gen.next()) > a).toBe(true);
  });

  it('never collide between workers at the same instant', () => {
    const now = () => SNOWFLAKE_EPOCH_MS + 42;
    const seen = new Set<string>();
    for (const workerId of [0, 1, 2, 1023]) {
      const gen = createIdGenerator({ workerId, now });
      for (let i = 0; i < 5000; i++) seen.add(gen.next());
    }
    expect(seen.size).toBe(20_000);
  });

  it('order by time across workers and encode their time', () => {
    let t = Date.UTC(2026, 10, 22, 10, 0, 0);
    const high = createIdGenerator({ workerId: 1023, now: () => t });
    const low = createIdGenerator({ workerId: 0, now: () => t });
    const first = high.next();
    t += 1;
    const second = low.next();
    expect(BigInt(second) > BigInt(first)).toBe(true);
    expect(snowflakeTime(first)).toEqual(new Date(Date.UTC(2026, 10, 22, 10, 0, 0)));
    expect(snowflakeTime('abc')).toBeNull();
  });

  it('refuse worker ids outside 0..1023', () => {
    expect(() => createIdGenerator({ workerId: 1024 })).toThrow(RangeError);
    expect(() => createIdGenerator({ workerId: -1 })).toThrow(RangeError);
    expect(() => createIdGenerator({ workerId: 1.5 })).toThrow(RangeError);
  });
});
