using System.Text.Json;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// The invariant "no change without its receipt", checkable after any crash: every estate file holds either its
/// content before (a snapshot the caller took) or a content that a Succeeded receipt in the ledger records as written
/// (<c>Files[].NewSha256</c>), and no transaction journal is left pending. Crash tests call it after the next run.
/// </summary>
public static class ReceiptInvariant
{
    /// <summary>SHA-256 of every file under <paramref name="estateRoot"/> (relative paths, '/'), leaving out the receipts folder and <c>.infra-relocation/</c>.</summary>
    public static IReadOnlyDictionary<string, string> Snapshot(string estateRoot, string receiptsFolder)
    {
        var root = Path.GetFullPath(estateRoot);
        var receipts = Path.GetFullPath(receiptsFolder);
        var state = Path.Combine(root, ".infra-relocation");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (file.StartsWith(receipts + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || file.StartsWith(state + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || AtomicFile.IsTempFile(file))
            {
                continue;
            }
            result[Path.GetRelativePath(root, file).Replace('\\', '/')] = Digest.Sha256Hex(File.ReadAllBytes(file));
        }
        return result;
    }

    /// <summary>
    /// The violations of the invariant (empty when it holds): files whose content is neither in <paramref name="before"/>
    /// nor recorded by a Succeeded receipt, files that appeared or vanished without a receipt, and pending journals.
    /// </summary>
    public static IReadOnlyList<string> Check(string estateRoot, string receiptsFolder, IReadOnlyDictionary<string, string> before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var recorded = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var ledger = LedgerView.Load(Path.Combine(receiptsFolder, ReceiptStore.LedgerFileName));
        foreach (var entry in ledger.Entries)
        {
            if (entry.String("Outcome") != "Succeeded" || !entry.Receipt.TryGetProperty("Files", out var files) || files.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            foreach (var file in files.EnumerateArray())
            {
                if (file.ValueKind == JsonValueKind.Object && file.TryGetProperty("Path", out var p) && file.TryGetProperty("NewSha256", out var h)
                    && p.GetString() is { } path && h.GetString() is { } hash)
                {
                    (recorded.TryGetValue(path, out var set) ? set : recorded[path] = new HashSet<string>(StringComparer.Ordinal)).Add(hash);
                }
            }
        }
        var now = Snapshot(estateRoot, receiptsFolder);
        var problems = new List<string>();
        foreach (var path in before.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            var current = now.GetValueOrDefault(path);
            var original = before.GetValueOrDefault(path);
            if (current == original || (current is not null && recorded.TryGetValue(path, out var hashes) && hashes.Contains(current)))
            {
                continue;
            }
            problems.Add(current is null
                ? $"{path} was removed, and no receipt records it"
                : $"{path} holds content {current[..12]} that is neither its content before ({original?[..12] ?? "absent"}) nor one a Succeeded receipt records");
        }
        problems.AddRange(EstateTransaction.PendingJournals(estateRoot).Select(j => $"{j} is pending (the next change completes or rolls it back)"));
        return problems;
    }
}
