using System.Diagnostics;
using System.Text.Json;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// The receipt of a change sent to a host (provisioning, bootstrap, hostname), journaled before anything is sent: the
/// receipt the ledger gets if the process dies before it records the real one (<c>Failed</c>, "interrupted … its
/// result is unknown"). The run deletes it once its real receipt is in the ledger; otherwise the next run of a
/// host-changing command records it (<see cref="Complete"/>), so no host change goes without a receipt. Estate files a
/// host change writes go through the estate transaction with their own receipt (docs/design/ledger.md).
/// </summary>
public static class PendingReceipts
{
    public const string Folder = ".infra-relocation/pending-receipts";

    /// <summary>Commands whose next run records a pending receipt (named in <see cref="Notices"/>).</summary>
    public const string CompletingCommands = "New-ProxmoxVm, Initialize-RelocationVm or Set-HypervisorHostname (without -WhatIf)";

    // Owner*: the process that journaled it. Null in journals written before they were recorded (never live).
    private sealed record Entry(string Type, JsonElement Receipt, int? OwnerPid = null, DateTime? OwnerStartUtc = null, string? OwnerMachine = null);

    /// <summary>Journals <paramref name="interrupted"/> (atomic, fsync'd); returns its path for <see cref="Discard"/>.</summary>
    public static string Write(string estateRoot, RelocationReceipt interrupted)
    {
        var boundary = new Estate.EstateBoundary(Path.GetFullPath(estateRoot));
        var path = boundary.Resolve($"{Folder}/{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}.json");
        using var self = Process.GetCurrentProcess();
        var entry = new Entry(interrupted.GetType().FullName!, JsonSerializer.SerializeToElement(interrupted, interrupted.GetType(), ReceiptStore.JsonOptions),
            Environment.ProcessId, self.StartTime.ToUniversalTime(), Environment.MachineName);
        AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(entry, ReceiptStore.JsonOptions));
        return path;
    }

    /// <summary>The run recorded its real receipt: the journaled one is not needed.</summary>
    public static void Discard(string path) => File.Delete(path);

    /// <summary>
    /// Receipts of host changes that were interrupted, oldest first (relative paths of their files). A journal whose
    /// run is still going (its process alive on this machine: this process's earlier pipeline items, or another
    /// terminal's run) is not interrupted and is left to that run.
    /// </summary>
    public static IReadOnlyList<string> Pending(string estateRoot)
    {
        var root = Path.GetFullPath(estateRoot);
        var folder = Path.Combine(root, Folder);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.json").Where(p => !AtomicFile.IsTempFile(p) && !OwnerIsRunning(p)).Order(StringComparer.Ordinal)
                .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/')).ToList()
            : [];
    }

    private static bool OwnerIsRunning(string path)
    {
        Entry? entry;
        try
        {
            entry = JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(path), ReceiptStore.JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return false; // unreadable: reported as pending (Notices says why)
        }
        if (entry?.OwnerPid is not { } pid || entry.OwnerStartUtc is not { } started
            || !string.Equals(entry.OwnerMachine, Environment.MachineName, StringComparison.OrdinalIgnoreCase)
            || !AtomicFile.ProcessIsAlive(pid))
        {
            return false;
        }
        try
        {
            using var owner = Process.GetProcessById(pid);
            return Math.Abs((owner.StartTime.ToUniversalTime() - started).TotalSeconds) <= 2; // else the pid was reused
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Records every pending receipt in <paramref name="store"/> and deletes it; returns what was recorded. Two runs may
    /// complete at once: each file is claimed by renaming it first, so it is recorded once.
    /// </summary>
    public static IReadOnlyList<RelocationReceipt> Complete(string estateRoot, ReceiptStore store)
    {
        var recorded = new List<RelocationReceipt>();
        foreach (var rel in Pending(estateRoot))
        {
            var path = Path.Combine(Path.GetFullPath(estateRoot), rel);
            var claimed = path + $".claimed-{Environment.ProcessId}";
            try
            {
                File.Move(path, claimed);
            }
            catch (FileNotFoundException)
            {
                continue; // another run claimed it
            }
            try
            {
                recorded.Add(store.Append(Read(claimed)));
                File.Delete(claimed);
            }
            catch
            {
                File.Move(claimed, path); // stays pending for the next run
                throw;
            }
        }
        return recorded;
    }

    /// <summary>One warning per pending receipt, for commands that read the estate.</summary>
    public static IReadOnlyList<string> Notices(string estateRoot)
    {
        var notices = new List<string>();
        foreach (var rel in Pending(estateRoot))
        {
            string what;
            try
            {
                var receipt = Read(Path.Combine(Path.GetFullPath(estateRoot), rel));
                what = $"{receipt.Command} (run {receipt.RunId}, started {receipt.StartedUtc:yyyy-MM-ddTHH:mm:ssZ}) stopped before it recorded its result";
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
            {
                what = $"a host change stopped before it recorded its result, and its journaled receipt cannot be read ({ex.Message})";
            }
            notices.Add($"Receipt {rel} is pending: {what}; the change may have reached the host. The next run of {CompletingCommands} " +
                        "records it as Failed (interrupted) before it sends anything; run the same command again to converge.");
        }
        return notices;
    }

    private static RelocationReceipt Read(string path)
    {
        var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(path), ReceiptStore.JsonOptions) ?? throw new JsonException("empty");
        return (RelocationReceipt?)entry.Receipt.Deserialize(ReceiptStore.ResolveType(entry.Type), ReceiptStore.JsonOptions) ?? throw new JsonException("null receipt");
    }
}
