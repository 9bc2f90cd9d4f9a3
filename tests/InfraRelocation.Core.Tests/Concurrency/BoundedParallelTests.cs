using InfraRelocation.Core.Concurrency;

namespace InfraRelocation.Core.Tests.Concurrency;

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
    public async Task ForEach_RunsAFullRoundAtOnce()
    {
        // Each item waits until eight are running together: that only completes if the fan-out runs a whole round
        // at once (a sequential loop would wait forever, and the guard below fails it). No clock involved.
        var running = 0;
        var fullRound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = BoundedParallel.ForEachAsync(Enumerable.Range(0, 16).ToList(), async (_, ct) =>
        {
            if (Interlocked.Increment(ref running) >= 8) fullRound.TrySetResult();
            await fullRound.Task.WaitAsync(ct);
            return 0;
        }, maxParallelism: 8);

        var results = await all.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.All(results, r => Assert.True(r.Succeeded));
    }

    [Fact]
    public async Task ForEach_Cancellation_StopsStartingItemsAndThrows()
    {
        using var cts = new CancellationTokenSource();
        var started = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BoundedParallel.ForEachAsync(
            Enumerable.Range(0, 100).ToList(), async (_, ct) =>
            {
                if (Interlocked.Increment(ref started) == 2) cts.Cancel(); // both slots taken, then cancelled
                await Task.Delay(Timeout.Infinite, ct);
                return 0;
            },
            maxParallelism: 2, cts.Token));
        // The cancelled items free their slots, and still nothing more is started.
        Assert.Equal(2, started);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
