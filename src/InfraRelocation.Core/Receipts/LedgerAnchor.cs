using System.Text.Json;
using System.Text.RegularExpressions;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// The ledger's head as the manifest records it (<c>ledger_anchor: "tx &lt;id&gt; after &lt;hash&gt;"</c>), written by every
/// change in the same transaction as the change, so the estate's git history anchors the ledger. It names the change's
/// transaction and the hash of the receipt that was the ledger's head when the change began: the ledger must still hold
/// that receipt and, after it, the receipt of the transaction. A truncated tail (the change's receipt is gone) and a
/// rewritten, re-hashed ledger (the anchored hash is gone) fail the check. Receipts appended after the change's own
/// receipt are not anchored until the next change: only signatures tell a forged one (docs/design/ledger.md).
/// </summary>
public sealed partial record LedgerAnchor(string TransactionId, string AfterHash)
{
    /// <summary>The manifest's top-level key that holds the anchor.</summary>
    public const string ManifestKey = "ledger_anchor";

    /// <summary>The text written into the manifest.</summary>
    public string Text => $"tx {TransactionId} after {(AfterHash.Length == 0 ? "start" : AfterHash)}";

    public override string ToString() => Text;

    /// <summary>Parses the manifest's value; null when it is not an anchor.</summary>
    public static LedgerAnchor? Parse(string? text)
    {
        var match = text is null ? null : Shape().Match(text.Trim());
        return match is { Success: true } ? new LedgerAnchor(match.Groups[1].Value, match.Groups[2].Value == "start" ? "" : match.Groups[2].Value) : null;
    }

    [GeneratedRegex("^tx ([0-9a-f]{6,64}) after (start|[0-9a-f]{64})$")]
    private static partial Regex Shape();

    /// <summary>A ledger line read from the end: its stored hash, its receipt's JSON and its byte offset.</summary>
    public readonly record struct Line(string? Hash, JsonElement Receipt, long Offset);

    /// <summary>
    /// Null when the ledger (read newest first) reaches this anchor intact: every line back to the anchored receipt matches
    /// its hash and names the line before it, and the receipt of <see cref="TransactionId"/> lies after the anchored one.
    /// Else what is wrong, in words an operator can act on. Reads back to the anchored receipt (the whole file only when
    /// it is missing).
    /// </summary>
    public string? Problem(IEnumerable<Line> newestFirst)
    {
        var sawChange = false;
        string? expected = null; // the hash the newer line names as its predecessor
        long? firstOffset = null;
        foreach (var line in newestFirst)
        {
            if (line.Hash is null)
            {
                return null; // built in memory: nothing to verify
            }
            firstOffset ??= line.Offset;
            if (!string.Equals(Digest.Sha256Hex(line.Receipt.GetRawText()), line.Hash, StringComparison.Ordinal))
            {
                return $"the receipt at byte {line.Offset} was edited: it no longer matches its hash";
            }
            if (expected is not null && !string.Equals(expected, line.Hash, StringComparison.Ordinal))
            {
                return $"the link after byte {line.Offset} is broken: a receipt was removed, inserted or reordered there";
            }
            if (string.Equals(line.Hash, AfterHash, StringComparison.Ordinal))
            {
                return sawChange ? null : Truncated(line.Offset);
            }
            sawChange |= line.Receipt.TryGetProperty("TransactionId", out var tx) && tx.ValueKind == JsonValueKind.String
                && string.Equals(tx.GetString(), TransactionId, StringComparison.Ordinal);
            expected = line.Receipt.TryGetProperty("PreviousHash", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() ?? "" : "";
        }
        if (AfterHash.Length == 0 && (expected ?? "") == "")
        {
            return sawChange ? null : Truncated(0);
        }
        return firstOffset is null
            ? $"the ledger is empty, but the manifest's {ManifestKey} ({Text}) says it held receipts: it was truncated or replaced"
            : $"the receipt the manifest's {ManifestKey} names ({AfterHash[..12]}…) is not in the ledger: the ledger was rewritten and re-hashed, or cut before it";
    }

    /// <summary>
    /// How many receipts follow the anchored one (<see cref="AfterHash"/>): the last change's own receipt and every receipt
    /// since. The anchor seals the ledger up to the anchored receipt; these rest on the chain alone until the next change.
    /// </summary>
    public int Unanchored(IEnumerable<Line> newestFirst)
    {
        var count = 0;
        foreach (var line in newestFirst)
        {
            if (string.Equals(line.Hash, AfterHash, StringComparison.Ordinal))
            {
                break;
            }
            count++;
        }
        return count;
    }

    /// <summary>The receipt lines of a ledger file, newest first (a torn tail and lines that are not receipts are skipped).</summary>
    public static IEnumerable<Line> ReadBackward(string ledgerPath)
    {
        foreach (var line in ReceiptStore.ReadLinesBackward(ledgerPath))
        {
            JsonElement receipt;
            string? hash;
            try
            {
                using var doc = JsonDocument.Parse(line.Text);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("receipt", out var r)
                    || r.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("hash", out var h) || h.ValueKind != JsonValueKind.String)
                {
                    continue;
                }
                receipt = r.Clone();
                hash = h.GetString();
            }
            catch (JsonException)
            {
                continue;
            }
            yield return new Line(hash, receipt, line.Offset);
        }
    }

    private string Truncated(long offset) =>
        $"the receipt of the last change (transaction {TransactionId}), which the manifest's {ManifestKey} anchors after byte {offset}, is missing: the ledger's tail was truncated";
}
