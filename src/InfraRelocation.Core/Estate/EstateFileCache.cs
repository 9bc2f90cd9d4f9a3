using System.Collections.Concurrent;
using System.Diagnostics;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// What <see cref="EstateLoader"/> read from each file, kept by full path and reused while the file's bytes
/// (SHA-256) are unchanged. Records are immutable, so sharing them is safe. The process shares
/// <see cref="Shared"/>; a test that asserts reuse gives itself its own instance, so no other test can evict it.
/// </summary>
public sealed class EstateFileCache(int capacity = 256)
{
    /// <summary>The cache of the process (the cmdlets' loads).</summary>
    public static EstateFileCache Shared { get; } = new();

    internal sealed record Entry(string Relative, string Digest, object? Value, RelocationFinding[] Findings)
    {
        /// <summary>When the entry was last used (Stopwatch ticks), so eviction drops the least recently used.</summary>
        public long LastUsed { get; set; } = Stopwatch.GetTimestamp();
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly object _evictionGate = new();

    public int Count => _entries.Count;

    /// <summary>Forgets every file.</summary>
    public void Clear() => _entries.Clear();

    internal bool TryGet(string fullPath, string relative, string digest, out Entry entry)
    {
        if (_entries.TryGetValue(fullPath, out entry!) && entry.Digest == digest && entry.Relative == relative)
        {
            entry.LastUsed = Stopwatch.GetTimestamp();
            return true;
        }
        return false;
    }

    internal void Add(string fullPath, string relative, string digest, object? value, RelocationFinding[] findings)
    {
        if (_entries.Count >= capacity)
        {
            // Drop the least recently used quarter rather than everything: a process that works on several
            // estates (tests, a long-lived session) keeps the files it is using.
            // ToArray is the dictionary's own atomic snapshot. LINQ over the live dictionary sizes a buffer
            // from Count and then copies, so another thread's eviction in between leaves empty slots (NRE).
            lock (_evictionGate)
            {
                foreach (var stale in _entries.ToArray().OrderBy(e => e.Value.LastUsed).Take(Math.Max(1, capacity / 4)))
                {
                    _entries.TryRemove(stale.Key, out _);
                }
            }
        }
        _entries[fullPath] = new Entry(relative, digest, value, findings);
    }
}
