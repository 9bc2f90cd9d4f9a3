using System.Diagnostics;
using System.Text.Json;

namespace InfraRelocation.Core.Persistence;

/// <summary>Who holds (or held) an estate lease; serialized as <c>.infra-relocation/lease.json</c>.</summary>
public sealed record LeaseHolder(
    string Owner, int Pid, DateTime ProcessStartUtc, string Machine,
    DateTime AcquiredUtc, DateTime RenewedUtc, string Purpose, string Token)
{
    public override string ToString() =>
        $"{Owner} (pid {Pid} on {Machine}, '{Purpose}', since {AcquiredUtc:yyyy-MM-ddTHH:mm:ssZ})";
}

/// <summary>A stale lease that was broken to acquire this one; receipts record it.</summary>
public sealed record LeaseTakeover(LeaseHolder? Previous, string Reason, DateTime TakenOverUtc);

/// <summary>
/// An exclusive, estate-wide lease on mutating the estate's files. It lives in the estate itself
/// (<c>.infra-relocation/lease.json</c>), so every worktree process working on that folder is excluded, and is
/// created with O_EXCL (<see cref="FileMode.CreateNew"/>), so two processes never both win. A lease whose owner
/// process is gone (same machine; PID reuse is detected by the process start time) or that was not renewed
/// within <c>staleAfter</c> (other machine) is taken over, and the takeover is reported. A renewal time more than
/// <c>staleAfter</c> in the future (clock skew) counts as stale too, so a skewed clock cannot lock the estate
/// for longer than one lease duration beyond it. Dispose releases it.
/// Acquire it only after argument validation, so -WhatIf/help never contend with real runs.
/// </summary>
public sealed class EstateLease : IDisposable
{
    public const string RelativePath = ".infra-relocation/lease.json";
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan UnreadableGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TakeoverGuardStale = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly string _path;
    private bool _released;

    private EstateLease(string estateRoot, string path, LeaseHolder holder, IReadOnlyList<LeaseTakeover> takeovers)
    {
        EstateRoot = estateRoot;
        _path = path;
        Holder = holder;
        Takeovers = takeovers;
    }

    /// <summary>Absolute estate root the lease covers.</summary>
    public string EstateRoot { get; }

    /// <summary>This lease's record (Token identifies it).</summary>
    public LeaseHolder Holder { get; private set; }

    /// <summary>Stale leases broken while acquiring this one (usually empty).</summary>
    public IReadOnlyList<LeaseTakeover> Takeovers { get; }

    /// <summary>
    /// Acquires the lease, waiting at most <paramref name="wait"/> (TimeSpan.Zero = try once).
    /// Throws <c>EstateLeaseBusy</c> (ResourceBusy, naming the holder) on timeout, and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public static EstateLease Acquire(string estateRoot, string purpose, TimeSpan wait,
        CancellationToken cancellationToken = default, TimeSpan? staleAfter = null)
    {
        var root = Path.GetFullPath(estateRoot);
        var path = new Estate.EstateBoundary(root).Resolve(RelativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var stale = staleAfter ?? DefaultStaleAfter;
        var deadline = DateTime.UtcNow + wait;
        var takeovers = new List<LeaseTakeover>();
        var delay = TimeSpan.FromMilliseconds(25);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryCreate(path, purpose, out var holder))
            {
                return new EstateLease(root, path, holder, takeovers);
            }

            var (bytes, current) = ReadRaw(path);
            if (bytes is not null)
            {
                var reason = StaleReason(path, current, stale);
                if (reason is not null && TryBreak(path, bytes))
                {
                    takeovers.Add(new LeaseTakeover(current, reason, DateTime.UtcNow));
                    continue;
                }
            }
            else
            {
                continue; // released between our create and read: try again at once
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new RelocationException("EstateLeaseBusy", FailureKind.ResourceBusy,
                    current is null
                        ? $"The estate is being changed by another process ({RelativePath} exists); try again shortly."
                        : $"The estate is being changed by {current}; waited {wait.TotalSeconds:0.#}s. Try again when it finishes.",
                    new SourceLocation(RelativePath, 1, 1), current);
            }
            var remaining = deadline - DateTime.UtcNow;
            cancellationToken.WaitHandle.WaitOne(remaining < delay ? remaining : delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(250, delay.TotalMilliseconds * 2));
        }
    }

    /// <summary>The current holder, or null when the estate is not leased (or the lease file is unreadable).</summary>
    public static LeaseHolder? Inspect(string estateRoot) => ReadRaw(Path.Combine(Path.GetFullPath(estateRoot), RelativePath)).Holder;

    /// <summary>Refreshes the renewal time (long operations on other machines' estates should renew within staleAfter).</summary>
    public void Renew()
    {
        EnsureHeld();
        Holder = Holder with { RenewedUtc = DateTime.UtcNow };
        AtomicFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes(Holder, Json));
    }

    /// <summary>Throws <c>EstateLeaseLost</c> when the lease file no longer carries this lease's token (it was broken).</summary>
    public void EnsureHeld()
    {
        var (_, current) = ReadRaw(_path);
        if (_released || current?.Token != Holder.Token)
        {
            throw new RelocationException("EstateLeaseLost", FailureKind.ResourceUnavailable,
                current is null
                    ? "This process no longer holds the estate lease; nothing was written."
                    : $"The estate lease was taken over by {current}; nothing was written.",
                new SourceLocation(RelativePath, 1, 1), current);
        }
    }

    /// <summary>Releases the lease (only if it is still ours).</summary>
    public void Dispose()
    {
        if (_released)
        {
            return;
        }
        _released = true;
        var (_, current) = ReadRaw(_path);
        if (current?.Token == Holder.Token)
        {
            try
            {
                File.Delete(_path);
            }
            catch (IOException)
            {
            }
        }
    }

    private static bool TryCreate(string path, string purpose, out LeaseHolder holder)
    {
        var now = DateTime.UtcNow;
        using var self = Process.GetCurrentProcess();
        holder = new LeaseHolder(Environment.UserName, Environment.ProcessId, self.StartTime.ToUniversalTime(),
            Environment.MachineName, now, now, purpose, Guid.NewGuid().ToString("N"));
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        }
        catch (IOException ex) when (AlreadyExists(ex, path))
        {
            return false;
        }
        using (stream)
        {
            stream.Write(JsonSerializer.SerializeToUtf8Bytes(holder, Json));
            stream.Flush(flushToDisk: true);
        }
        return true;
    }

    /// <summary>
    /// The exclusive create lost the race. Checked by error code, not only by looking again: the holder may
    /// release (delete) the lease between our failed create and a second look.
    /// </summary>
    private static bool AlreadyExists(IOException ex, string path)
    {
        const int EEXIST = 17, ERROR_FILE_EXISTS = 80, ERROR_ALREADY_EXISTS = 183;
        var code = ex.HResult & 0xFFFF;
        return code is EEXIST or ERROR_FILE_EXISTS or ERROR_ALREADY_EXISTS || File.Exists(path);
    }

    private static (byte[]? Bytes, LeaseHolder? Holder) ReadRaw(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return (null, null);
        }
        catch (DirectoryNotFoundException)
        {
            return (null, null);
        }
        try
        {
            return (bytes, bytes.Length == 0 ? null : JsonSerializer.Deserialize<LeaseHolder>(bytes));
        }
        catch (JsonException)
        {
            return (bytes, null);
        }
    }

    /// <summary>Why the current lease may be broken, or null when it is live.</summary>
    private static string? StaleReason(string path, LeaseHolder? holder, TimeSpan staleAfter)
    {
        if (holder is null)
        {
            // Empty or unreadable: its creator may still be writing it; stale after a short grace.
            DateTime written;
            try
            {
                written = File.GetLastWriteTimeUtc(path);
            }
            catch (IOException)
            {
                return null;
            }
            return DateTime.UtcNow - written > UnreadableGrace ? "the lease file is unreadable and was not written recently" : null;
        }
        if (string.Equals(holder.Machine, Environment.MachineName, StringComparison.OrdinalIgnoreCase))
        {
            if (holder.Pid == Environment.ProcessId && holder.ProcessStartUtc == CurrentStart())
            {
                return null; // our own lease (another EstateLease object in this process): do not break it
            }
            if (!AtomicFile.ProcessIsAlive(holder.Pid))
            {
                return $"its owner process {holder.Pid} has exited";
            }
            try
            {
                using var process = Process.GetProcessById(holder.Pid);
                if (Math.Abs((process.StartTime.ToUniversalTime() - holder.ProcessStartUtc).TotalSeconds) > 2)
                {
                    return $"its owner process {holder.Pid} has exited (the pid now belongs to another process)";
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                return null; // cannot tell: treat as live
            }
            return null;
        }
        var age = DateTime.UtcNow - holder.RenewedUtc;
        if (-age > staleAfter)
        {
            // A renewal time further ahead than one lease duration can only come from a skewed clock; trusting it
            // would lock the estate until our clock catches up. Bounded: treated as stale. A live holder whose clock
            // runs that far ahead loses the lease and fails safely (EstateLeaseLost, nothing written).
            return $"its renewal time {holder.RenewedUtc:yyyy-MM-ddTHH:mm:ssZ} lies {-age.TotalMinutes:0.#} min in the future " +
                   $"(clock skew on {holder.Machine}; more than the {staleAfter.TotalMinutes:0.#} min lease duration ahead)";
        }
        return age > staleAfter ? $"it was last renewed {age.TotalMinutes:0.#} min ago on another machine (stale after {staleAfter.TotalMinutes:0.#} min)" : null;
    }

    private static DateTime CurrentStart()
    {
        using var self = Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    }

    /// <summary>
    /// Deletes the stale lease file if it still holds exactly <paramref name="seen"/>. A short-lived O_EXCL guard
    /// file serializes breakers, so two processes cannot both break a lease and delete each other's fresh one.
    /// </summary>
    private static bool TryBreak(string path, byte[] seen)
    {
        var guard = path + ".takeover";
        FileStream guardStream;
        try
        {
            guardStream = new FileStream(guard, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException ex) when (AlreadyExists(ex, guard))
        {
            try
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(guard) > TakeoverGuardStale)
                {
                    File.Delete(guard);
                }
            }
            catch (IOException)
            {
            }
            return false;
        }
        try
        {
            var (now, _) = ReadRaw(path);
            if (now is null || !now.AsSpan().SequenceEqual(seen))
            {
                return false;
            }
            File.Delete(path);
            return true;
        }
        finally
        {
            guardStream.Dispose();
            File.Delete(guard);
        }
    }
}
