namespace InfraRelocation.Core.Concurrency;

/// <summary>One item's outcome of a fan-out: a value, or the exception its body threw.</summary>
public sealed record FanOutResult<TItem, TResult>(TItem Item, TResult? Value, Exception? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>Bounded-parallel fan-out (e.g. probes over many hosts), results in input order.</summary>
public static class BoundedParallel
{
    public const int DefaultParallelism = 16;

    /// <summary>
    /// Runs <paramref name="body"/> for every item, at most <paramref name="maxParallelism"/> at a time.
    /// A failing item is captured in its result (the others go on); cancellation stops starting new items
    /// and throws OperationCanceledException once the running ones have returned.
    /// </summary>
    public static async Task<IReadOnlyList<FanOutResult<TItem, TResult>>> ForEachAsync<TItem, TResult>(
        IReadOnlyList<TItem> items, Func<TItem, CancellationToken, Task<TResult>> body,
        int maxParallelism = DefaultParallelism, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxParallelism, 1);
        var results = new FanOutResult<TItem, TResult>[items.Count];
        using var gate = new SemaphoreSlim(maxParallelism);
        var tasks = new List<Task>(items.Count);
        try
        {
            for (var i = 0; i < items.Count; i++)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                // A slot freed by an item that was itself being cancelled can win the race with the wait's own
                // cancellation: never start an item once the run is cancelled.
                cancellationToken.ThrowIfCancellationRequested();
                var index = i;
                tasks.Add(Task.Run(async () =>
                {
                    try { results[index] = new(items[index], await body(items[index], cancellationToken).ConfigureAwait(false), null); }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        results[index] = new(items[index], default, ex);
                    }
                    finally { gate.Release(); }
                }, CancellationToken.None));
            }
        }
        finally
        {
            // Never leave bodies running behind the caller's back, even when cancelled while starting.
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
        return results;
    }
}
