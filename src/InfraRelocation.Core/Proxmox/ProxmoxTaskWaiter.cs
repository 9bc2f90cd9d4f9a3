using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace InfraRelocation.Core.Proxmox;

/// <summary>Progress of a running task: percentage when the log shows one (e.g. disk copy), else null.</summary>
public sealed record TaskProgress(Upid Upid, string Status, double? Percent, string? LastLine, TimeSpan Elapsed);

/// <summary>The outcome of a finished, successful task (OK or WARNINGS: n).</summary>
public sealed record TaskOutcome(Upid Upid, string ExitStatus, IReadOnlyList<string> Warnings, TimeSpan Elapsed);

public sealed record TaskWaitOptions
{
    /// <summary>Overall deadline; it is pushed out while the task makes progress (see <see cref="StallTimeout"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>When progress advances, the deadline becomes at least now + this.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Hard cap on the extended deadline.</summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromHours(4);
    public TimeSpan InitialPollInterval { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>How long 400 "no such task" is read as "not visible yet".</summary>
    public TimeSpan NotYetVisibleGrace { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Transient 5xx/network errors tolerated in a row while polling.</summary>
    public int MaxConsecutiveErrors { get; init; } = 10;
    /// <summary>Read new log lines each poll to report percentages.</summary>
    public bool FollowLog { get; init; } = true;
}

/// <summary>
/// Waits for a Proxmox task: polls its status on the node named in the UPID with backoff, reports
/// progress, succeeds on OK / WARNINGS: n, and fails with the log's error lines otherwise.
/// On timeout the task is left running and the UPID is in the error, so the caller can resume.
/// </summary>
public sealed partial class ProxmoxTaskWaiter(ProxmoxClient client, TaskWaitOptions? options = null)
{
    private readonly TaskWaitOptions _options = options ?? new TaskWaitOptions();

    [GeneratedRegex(@"\((\d{1,3}(?:\.\d+)?)\s*%\)|(?<![\d.])(\d{1,3}(?:\.\d+)?)%")]
    private static partial Regex PercentPattern();

    /// <summary>The last percentage in a log line, e.g. "transferred 1.0 GiB of 4.0 GiB (25.00%)".</summary>
    public static double? ParsePercent(string line)
    {
        var matches = PercentPattern().Matches(line);
        if (matches.Count == 0) return null;
        var m = matches[^1];
        var text = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
        var value = double.Parse(text, CultureInfo.InvariantCulture);
        return value is >= 0 and <= 100 ? value : null;
    }

    public async Task<TaskOutcome> WaitAsync(Upid upid, IProgress<TaskProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var started = DateTimeOffset.UtcNow;
        var deadline = started + _options.Timeout;
        var hardCap = started + _options.MaxTimeout;
        var interval = _options.InitialPollInterval;
        var errorsInRow = 0;
        var logLinesSeen = 0;
        double? percent = null;
        string? lastLine = null;

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ProxmoxTaskStatus? status = null;
            try
            {
                status = await client.GetTaskStatusAsync(upid, cancellationToken).ConfigureAwait(false);
                errorsInRow = 0;
            }
            catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.BadRequest && DateTimeOffset.UtcNow - started < _options.NotYetVisibleGrace)
            {
                // The task is not visible yet (eventual consistency between workers).
            }
            catch (RelocationException e) when (IsTransient(e) && ++errorsInRow <= _options.MaxConsecutiveErrors)
            {
            }

            if (status is not null)
            {
                if (_options.FollowLog)
                {
                    try
                    {
                        var page = await client.GetTaskLogAsync(upid, logLinesSeen, 500, cancellationToken).ConfigureAwait(false);
                        foreach (var line in page.Lines)
                        {
                            lastLine = line.Text;
                            if (ParsePercent(line.Text) is { } p && (percent is null || p > percent))
                            {
                                percent = p;
                                var extended = DateTimeOffset.UtcNow + _options.StallTimeout;
                                if (extended > deadline) deadline = extended < hardCap ? extended : hardCap;
                            }
                        }
                        logLinesSeen += page.Lines.Count;
                    }
                    catch (RelocationException e) when (IsTransient(e) || e is ProxmoxApiException { StatusCode: HttpStatusCode.BadRequest })
                    {
                    }
                }
                progress?.Report(new TaskProgress(upid, status.Status, status.IsRunning ? percent : 100, lastLine, DateTimeOffset.UtcNow - started));
                if (!status.IsRunning) return await FinishAsync(upid, status, started, cancellationToken).ConfigureAwait(false);
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                // Re-check the real state once before giving up: the task may just have ended.
                try
                {
                    var last = await client.GetTaskStatusAsync(upid, cancellationToken).ConfigureAwait(false);
                    if (!last.IsRunning) return await FinishAsync(upid, last, started, cancellationToken).ConfigureAwait(false);
                }
                catch (RelocationException e) when (IsTransient(e) || e is ProxmoxApiException)
                {
                }
                throw new RelocationException("ProxmoxTaskTimeout", FailureKind.OperationTimeout,
                    $"Proxmox task {upid.Type} on {upid.Node} did not finish within {(DateTimeOffset.UtcNow - started).TotalSeconds:0} s; it is still running: {upid}",
                    target: upid.Text);
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            interval = TimeSpan.FromTicks(Math.Min(_options.MaxPollInterval.Ticks, (long)(interval.Ticks * 1.5)));
        }
    }

    private async Task<TaskOutcome> FinishAsync(Upid upid, ProxmoxTaskStatus status, DateTimeOffset started, CancellationToken ct)
    {
        IReadOnlyList<TaskLogLine> log = [];
        if (!status.IsSuccess || status.ExitStatus!.StartsWith("WARNINGS", StringComparison.Ordinal))
        {
            try { log = await client.GetFullTaskLogAsync(upid, ct).ConfigureAwait(false); }
            catch (RelocationException) { /* the exit status alone still tells the story */ }
        }
        var elapsed = DateTimeOffset.UtcNow - started;
        if (status.IsSuccess)
        {
            return new TaskOutcome(upid, status.ExitStatus!, log.Select(l => l.Text).Where(t => t.StartsWith("WARN", StringComparison.Ordinal)).ToList(), elapsed);
        }
        var exit = status.ExitStatus ?? "unknown status";
        var detail = log.Select(l => l.Text)
            .Where(t => !t.StartsWith("WARN", StringComparison.Ordinal) && t != "TASK ERROR: " + exit && !string.IsNullOrWhiteSpace(t))
            .TakeLast(10).ToList();
        throw new ProxmoxTaskFailedException(upid, exit, detail);
    }

    private static bool IsTransient(RelocationException e) => e switch
    {
        ProxmoxApiException api => (int)api.StatusCode >= 500 && !api.IsLockContention,
        _ => e.Kind is FailureKind.ConnectionError or FailureKind.OperationTimeout,
    };
}

/// <summary>A task that ended with anything but OK / WARNINGS: n.</summary>
public sealed class ProxmoxTaskFailedException(Upid upid, string exitStatus, IReadOnlyList<string> logLines)
    : RelocationException("ProxmoxTaskFailed", FailureKind.InvalidOperation,
        $"Proxmox task {upid.Type} ({upid.Id}) on {upid.Node} failed: {exitStatus}" +
        (logLines.Count > 0 ? Environment.NewLine + string.Join(Environment.NewLine, logLines.Select(l => "  " + l)) : ""),
        target: upid.Text)
{
    public Upid Upid { get; } = upid;
    public string ExitStatus { get; } = exitStatus;
    public IReadOnlyList<string> LogLines { get; } = logLines;
}

/// <summary>Bounded retry of calls refused because the VM is locked or its config lock timed out.</summary>
public static class ProxmoxRetry
{
    public static async Task<T> WhileLockedAsync<T>(Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken = default,
        int maxAttempts = 6, TimeSpan? initialDelay = null, TimeSpan? maxDelay = null)
    {
        var delay = initialDelay ?? TimeSpan.FromSeconds(1);
        var cap = maxDelay ?? TimeSpan.FromSeconds(15);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action(cancellationToken).ConfigureAwait(false);
            }
            catch (ProxmoxApiException e) when (e.IsLockContention && attempt < maxAttempts)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(cap.Ticks, delay.Ticks * 2));
            }
        }
    }

    public static Task WhileLockedAsync(Func<CancellationToken, Task> action, CancellationToken cancellationToken = default,
        int maxAttempts = 6, TimeSpan? initialDelay = null, TimeSpan? maxDelay = null) =>
        WhileLockedAsync<bool>(async c => { await action(c).ConfigureAwait(false); return true; }, cancellationToken, maxAttempts, initialDelay, maxDelay);
}

/// <summary>Chooses the guest's address from the agent's interface list.</summary>
public static class GuestAddressPicker
{
    /// <summary>
    /// Skips lo, loopback and link-local addresses and container bridges; prefers the interface whose MAC is
    /// <paramref name="preferredMac"/> (net0's). Family "ipv4" or "ipv6". Null when nothing usable yet.
    /// </summary>
    public static string? Pick(IEnumerable<GuestInterface> interfaces, string? preferredMac = null, string family = "ipv4")
    {
        var candidates = interfaces
            .Where(i => i.Name != "lo" && !i.Name.StartsWith("docker", StringComparison.Ordinal) && !i.Name.StartsWith("br-", StringComparison.Ordinal)
                        && !i.Name.StartsWith("veth", StringComparison.Ordinal) && !i.Name.StartsWith("cni", StringComparison.Ordinal))
            .Select(i => (i, addr: i.Addresses.FirstOrDefault(a => a.Family == family && IsUsable(a.Address))))
            .Where(x => x.addr is not null)
            .ToList();
        var preferred = preferredMac is null ? default
            : candidates.FirstOrDefault(x => string.Equals(x.i.HardwareAddress, preferredMac, StringComparison.OrdinalIgnoreCase));
        return (preferred.addr ?? candidates.FirstOrDefault().addr)?.Address;
    }

    private static bool IsUsable(string text)
    {
        if (!IPAddress.TryParse(text, out var ip) || IPAddress.IsLoopback(ip)) return false;
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) return !ip.IsIPv6LinkLocal;
        var b = ip.GetAddressBytes();
        return !(b[0] == 169 && b[1] == 254) && !(b[0] == 0);
    }
}
