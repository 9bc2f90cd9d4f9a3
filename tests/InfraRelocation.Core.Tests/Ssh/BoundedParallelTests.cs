using System.Diagnostics;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Core.Tests.Ssh;

public sealed class BoundedParallelTests
{
    [Fact]
    public async Task ForEach_KeepsInputOrder_RespectsTheBound_AndCapturesFailures()
    {
        int running = 0, peak = 0;
        var items = Enumerable.Range(0, 20).ToList();
        var results = await BoundedParallel.ForEachAsync(items, async (i, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(20 + (19 - i) * 3, ct); // later items finish first
            Interlocked.Decrement(ref running);
            return i == 7 ? throw new InvalidOperationException("item 7") : i * 10;
        }, maxParallelism: 4);

        Assert.Equal(items, results.Select(r => r.Item));
        Assert.Equal(items.Where(i => i != 7).Select(i => i * 10), results.Where(r => r.Succeeded).Select(r => r.Value));
        Assert.Equal("item 7", results[7].Error!.Message);
        Assert.True(peak <= 4, $"peak {peak}");
        Assert.True(peak >= 2, $"peak {peak}");
    }

    [Fact]
    public async Task ForEach_TakesAboutCeilOfNOverParallelismRounds()
    {
        var sw = Stopwatch.StartNew();
        await BoundedParallel.ForEachAsync(Enumerable.Range(0, 16).ToList(), async (_, ct) => { await Task.Delay(200, ct); return 0; }, maxParallelism: 8);
        // 2 rounds of 200 ms; sequential would be 3.2 s. Loose bound: scheduling on a busy box.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.6), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task ForEach_Cancellation_StopsStartingItemsAndThrows()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        var started = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BoundedParallel.ForEachAsync(
            Enumerable.Range(0, 100).ToList(), async (_, ct) => { Interlocked.Increment(ref started); await Task.Delay(100, ct); return 0; },
            maxParallelism: 2, cts.Token));
        Assert.True(started < 10, $"started {started}");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
