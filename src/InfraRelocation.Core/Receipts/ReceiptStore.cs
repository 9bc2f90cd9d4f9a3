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
        var json = JsonSerializer.Serialize(chained, chained.GetType(), JsonOptions);
        var hash = Sha256Hex(json);
        var line = $"{{\"hash\":\"{hash}\",\"type\":\"{chained.GetType().FullName}\",\"receipt\":{json}}}\n";

        using (var stream = new FileStream(LedgerPath, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            stream.Write(Encoding.UTF8.GetBytes(line));
            stream.Flush(flushToDisk: true);
        }
        return (T)(chained with { Hash = hash });
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
