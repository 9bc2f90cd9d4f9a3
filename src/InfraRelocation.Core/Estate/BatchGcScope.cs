using System.Runtime;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// Switches the process to <see cref="GCLatencyMode.Batch"/> (blocking collections, no background GC) while an
/// estate is parsed, and back when the last concurrent parse ends. Parsing builds and drops a located tree per
/// file; with background GC the heap keeps growing while a collection runs, which put a cold 10,000-service gate
/// run about 50 MiB above issue 17's 300 MiB peak (docs/benchmarks.md, "Cold runs"). A parse never waits on
/// the user, so pauses cost nothing there; the mode the host chose is restored afterwards.
/// </summary>
internal sealed class BatchGcScope : IDisposable
{
    private static readonly object s_gate = new();
    private static int s_depth;
    private static GCLatencyMode s_saved;
    private bool _disposed;

    private BatchGcScope()
    {
        lock (s_gate)
        {
            if (s_depth++ == 0)
            {
                s_saved = GCSettings.LatencyMode;
                GCSettings.LatencyMode = GCLatencyMode.Batch;
            }
        }
    }

    public static BatchGcScope Enter() => new();

    public void Dispose()
    {
        lock (s_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (--s_depth == 0)
            {
                GCSettings.LatencyMode = s_saved;
            }
        }
    }
}
