using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// Append-only receipt ledger: one JSON line per run in <c>ledger.jsonl</c>. Each line is
/// <c>{"hash":…,"type":…,"receipt":{…}}</c> where hash is the SHA-256 of the receipt's JSON text, and the
/// receipt carries the previous line's hash, so editing, removing or reordering a line breaks the chain.
/// </summary>
public sealed class ReceiptStore
{
    public const string LedgerFileName = "ledger.jsonl";

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    private readonly string _folder;

    public ReceiptStore(string folder) => _folder = folder;

    public string LedgerPath => Path.Combine(_folder, LedgerFileName);

    /// <summary>Appends a receipt and returns it with <c>PreviousHash</c> and <c>Hash</c> set.</summary>
    public T Append<T>(T receipt) where T : RelocationReceipt
    {
        Directory.CreateDirectory(_folder);
        using var guard = AcquireLedgerLock();
        var previous = ReadLastHash();
        var chained = (T)(receipt with { PreviousHash = previous, Hash = "" });
        // Secrets never reach the ledger: the receipt's text is masked before it is hashed and written.
        var json = JsonSerializer.Serialize(chained, chained.GetType(), JsonOptions);
        if (Secrets.SecretMask.Contains(json))
        {
            json = Secrets.SecretMask.Mask(json);
            chained = (T)JsonSerializer.Deserialize(json, chained.GetType(), JsonOptions)!;
        }
        var hash = Sha256Hex(json);
        var line = $"{{\"hash\":\"{hash}\",\"type\":\"{chained.GetType().FullName}\",\"receipt\":{json}}}\n";

        using (var stream = new FileStream(LedgerPath, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            stream.Write(Encoding.UTF8.GetBytes(line));
            stream.Flush(flushToDisk: true);
        }
        return (T)(chained with { Hash = hash });
    }

    /// <summary>
    /// Reads every receipt of the ledger as its stored type (a subclass of <see cref="RelocationReceipt"/>
    /// when known, else the base record), in ledger order. A line that is not a receipt is an error naming its line.
    /// </summary>
    public IEnumerable<RelocationReceipt> ReadAll()
    {
        if (!File.Exists(LedgerPath))
        {
            yield break;
        }
        var number = 0;
        foreach (var line in File.ReadLines(LedgerPath))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            RelocationReceipt? receipt;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var type = ResolveType(doc.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null);
                receipt = (RelocationReceipt?)doc.RootElement.GetProperty("receipt").Deserialize(type, JsonOptions);
                if (receipt is not null && doc.RootElement.TryGetProperty("hash", out var hash))
                {
                    receipt = receipt with { Hash = hash.GetString() ?? "" };
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or NotSupportedException)
            {
                throw new RelocationException("ReceiptLedgerCorrupt", FailureKind.InvalidData,
                    $"Line {number} of the receipt ledger is not a receipt: {ex.Message}",
                    new SourceLocation(LedgerPath, number, 1), LedgerPath, ex);
            }
            if (receipt is not null)
            {
                yield return receipt;
            }
        }
    }

    /// <summary>
    /// Verifies the hash chain: every line's hash matches its receipt text, and every receipt names the
    /// previous line's hash. Reports the first broken link (edited, removed or reordered receipt).
    /// </summary>
    public ReceiptChainResult Verify()
    {
        if (!File.Exists(LedgerPath))
        {
            return new ReceiptChainResult(true, 0, null, null, "The ledger is empty.");
        }
        var lines = new List<(int Number, string Hash, string Previous, string Computed)>();
        var number = 0;
        foreach (var line in File.ReadLines(LedgerPath))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                using var doc = JsonDocument.Parse(line);
                var receipt = doc.RootElement.GetProperty("receipt");
                var raw = receipt.GetRawText();
                var previous = receipt.TryGetProperty("PreviousHash", out var p) ? p.GetString() ?? "" : "";
                lines.Add((number, doc.RootElement.GetProperty("hash").GetString() ?? "", previous, Sha256Hex(raw)));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return new ReceiptChainResult(false, lines.Count, number, ReceiptChainBreak.Edited,
                    $"Line {number} is not a well-formed receipt line ({ex.Message}).");
            }
        }
        var allHashes = lines.Select(l => l.Hash).ToHashSet(StringComparer.Ordinal);
        var expectedPrevious = "";
        for (var i = 0; i < lines.Count; i++)
        {
            var (lineNumber, hash, previous, computed) = lines[i];
            if (!string.Equals(hash, computed, StringComparison.Ordinal))
            {
                return new ReceiptChainResult(false, lines.Count, lineNumber, ReceiptChainBreak.Edited,
                    $"The receipt on line {lineNumber} was edited: its content no longer matches its hash.");
            }
            if (!string.Equals(previous, expectedPrevious, StringComparison.Ordinal))
            {
                var reordered = previous.Length > 0 && allHashes.Contains(previous) || (previous.Length == 0 && i > 0);
                return new ReceiptChainResult(false, lines.Count, lineNumber,
                    reordered ? ReceiptChainBreak.Reordered : ReceiptChainBreak.Removed,
                    reordered
                        ? $"The receipt on line {lineNumber} is out of order: it does not follow the receipt before it."
                        : $"The link into line {lineNumber} is broken: the previous receipt it names is missing (a receipt was removed, or the one before was rewritten).");
            }
            expectedPrevious = hash;
        }
        return new ReceiptChainResult(true, lines.Count, null, null, $"{lines.Count} receipts, chain intact.");
    }

    private static Type ResolveType(string? name)
    {
        if (name is not null)
        {
            foreach (var assembly in new[] { typeof(RelocationReceipt).Assembly, typeof(ReceiptStore).Assembly })
            {
                if (assembly.GetType(name) is { } type && typeof(RelocationReceipt).IsAssignableFrom(type))
                {
                    return type;
                }
            }
        }
        return typeof(RelocationReceipt);
    }

    public static string Sha256Hex(string text) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    private string ReadLastHash()
    {
        if (!File.Exists(LedgerPath))
        {
            return "";
        }
        string? last = null;
        foreach (var line in File.ReadLines(LedgerPath))
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                last = line;
            }
        }
        if (last is null)
        {
            return "";
        }
        using var doc = JsonDocument.Parse(last);
        return doc.RootElement.GetProperty("hash").GetString() ?? "";
    }

    // Appends from several processes must not interleave or fork the chain.
    private FileStream AcquireLedgerLock()
    {
        var lockPath = Path.Combine(_folder, ".ledger.lock");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(Random.Shared.Next(5, 25));
            }
        }
    }
}

/// <summary>How the receipt chain is broken.</summary>
public enum ReceiptChainBreak
{
    Edited,
    Removed,
    Reordered,
}

/// <summary>Result of <see cref="ReceiptStore.Verify"/>: intact, or the first broken link.</summary>
public sealed record ReceiptChainResult(bool IsValid, int ReceiptCount, int? BrokenAtLine, ReceiptChainBreak? Break, string Message);
