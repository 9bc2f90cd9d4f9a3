using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Transitions;

/// <summary>
/// A receipt read generically from the ledger: its capability and its JSON properties. <see cref="Line"/> is 0 for an
/// entry read from the ledger's end (<see cref="LedgerView.Relocation"/>); <see cref="Offset"/> is its byte offset.
/// </summary>
public sealed record LedgerEntry(int Line, string Capability, string? Type, JsonElement Receipt)
{
    public long Offset { get; init; }

    /// <summary>The hash the ledger line stores for this receipt (null for entries built in memory).</summary>
    public string? Hash { get; init; }

    /// <summary>The fingerprint of the key that signed the line, and its signature (nulls when unsigned).</summary>
    public string? SignatureKey { get; init; }
    public string? Signature { get; init; }

    /// <summary>The change id the receipt names (null when it names none).</summary>
    public string? ChangeId => String("ChangeId");

    public string? String(string property) =>
        Receipt.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    public DateTimeOffset? Time(string property) =>
        String(property) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}

/// <summary>Evidence a preflight run left: its health baseline and backup verification.</summary>
public sealed record PreflightEvidence(DateTimeOffset EndedUtc, string RunId, IReadOnlyList<(string Service, bool Healthy)> HealthBaseline,
    IReadOnlyList<(string Service, bool Verified)> BackupVerification)
{
    /// <summary>How the receipt is signed, judged against the estate's signers (<see cref="LedgerView.Signers"/>).</summary>
    public ReceiptSignatureStatus Signature { get; init; }
    /// <summary>The signer's name when <see cref="Signature"/> is Valid.</summary>
    public string? Signer { get; init; }
}

/// <summary>
/// Read-only view of the receipt ledger (<c>ledger.jsonl</c>) by capability and JSON properties, so receipts written
/// by other capabilities (e.g. Invoke-RelocationPreflight) are usable without their types. The ledger is the
/// history of transitions: per-service status change times are read from it.
/// </summary>
public sealed class LedgerView
{
    public const string PreflightCapability = "infra.relocation.preflight";
    public const string ServiceCapability = "infra.relocation.service.transition";
    public const string PromotionCapability = "infra.relocation.promote";

    private readonly Lazy<IReadOnlyList<LedgerEntry>> _entries;
    private readonly Func<IEnumerable<LedgerEntry>> _newestFirst;
    private readonly ConcurrentDictionary<string, Segment> _relocations = new(StringComparer.Ordinal);

    /// <summary>A relocation's receipts read from the end, and the hash of the receipt just before them ("" at the ledger's start).</summary>
    private sealed record Segment(IReadOnlyList<LedgerEntry> Entries, string Before);

    public LedgerView(IReadOnlyList<LedgerEntry> entries)
    {
        _entries = new(entries);
        _newestFirst = () => Enumerable.Reverse(entries);
    }

    private LedgerView(Func<IReadOnlyList<LedgerEntry>> read, Func<IEnumerable<LedgerEntry>> newestFirst)
    {
        _entries = new(read, LazyThreadSafetyMode.ExecutionAndPublication);
        _newestFirst = newestFirst;
    }

    public static LedgerView Empty { get; } = new(Array.Empty<LedgerEntry>());

    /// <summary>
    /// The keys <c>receipts.signers</c> lists. When there are any, evidence counts only when signed by one of them: the
    /// guards refuse unsigned, unknown-key and invalid signatures (a correctly linked forged receipt has none).
    /// </summary>
    public IReadOnlyList<ReceiptSignerKey> Signers { get; init; } = [];

    /// <summary>How <paramref name="entry"/> is signed, judged against <see cref="Signers"/>.</summary>
    public (ReceiptSignatureStatus Status, ReceiptSignerKey? Key) SignatureOf(LedgerEntry entry) =>
        ReceiptSigner.Check(entry.Hash ?? "", entry.SignatureKey, entry.Signature, Signers);

    /// <summary>Every receipt, in ledger order (reads the whole file on first use; guards use <see cref="Relocation"/>).</summary>
    public IReadOnlyList<LedgerEntry> Entries => _entries.Value;

    /// <summary>
    /// The receipts of relocation <paramref name="changeId"/>, in ledger order: read from the ledger's end back to the
    /// newest receipt that names another change id, so the cost grows with the current relocation's receipts, not with
    /// the ledger. Receipts that name no change id (impact, readiness, …) in that stretch are included. A null change id
    /// reads the whole ledger.
    /// </summary>
    public IReadOnlyList<LedgerEntry> Relocation(string? changeId)
    {
        if (changeId is null)
        {
            return Entries;
        }
        return SegmentOf(changeId).Entries;
    }

    private Segment SegmentOf(string changeId) => _relocations.GetOrAdd(changeId, id =>
    {
        var newestFirst = new List<LedgerEntry>();
        var before = "";
        foreach (var entry in _newestFirst())
        {
            if (entry.ChangeId is { } other && !string.Equals(other, id, StringComparison.Ordinal))
            {
                before = entry.Hash ?? "";
                break;
            }
            newestFirst.Add(entry);
        }
        newestFirst.Reverse();
        return new Segment(newestFirst, before);
    });

    /// <summary>
    /// Null when the hash chain of relocation <paramref name="changeId"/>'s receipts is intact (each matches its hash and
    /// names the receipt before it, back to the receipt before the relocation); else what is broken. Guards that trust
    /// receipts refuse on a broken chain. Costs what <see cref="Relocation"/> costs; Test-RelocationReceiptChain verifies
    /// the whole ledger.
    /// </summary>
    public string? ChainProblem(string? changeId) => ChainProblem(changeId, anchor: null);

    /// <summary>
    /// <see cref="ChainProblem(string?)"/>, then the manifest's <c>ledger_anchor</c> (<paramref name="anchor"/>, as written;
    /// null for an estate that predates anchoring): the ledger must still reach the anchored head, with the anchoring
    /// change's receipt after it (<see cref="LedgerAnchor.Problem"/>). A value that is not an anchor is a problem too.
    /// </summary>
    public string? ChainProblem(string? changeId, string? anchor)
    {
        if (SegmentProblem(changeId) is { } broken)
        {
            return broken;
        }
        return anchor is null ? null : AnchorProblem(anchor);
    }

    /// <summary>Null when the ledger reaches the anchor written in the manifest; else what is wrong (see <see cref="LedgerAnchor.Problem"/>).</summary>
    public string? AnchorProblem(string anchor) => LedgerAnchor.Parse(anchor) is { } parsed
        ? parsed.Problem(_newestFirst().Select(e => new LedgerAnchor.Line(e.Hash, e.Receipt, e.Offset)))
        : $"the manifest's {LedgerAnchor.ManifestKey} '{anchor}' is not an anchor (expected 'tx <id> after <sha256>')";

    private string? SegmentProblem(string? changeId)
    {
        var (entries, expected) = changeId is null ? (Entries, "") : (SegmentOf(changeId).Entries, SegmentOf(changeId).Before);
        foreach (var e in entries)
        {
            if (e.Hash is null)
            {
                return null; // built in memory: nothing to verify
            }
            if (!string.Equals(Digest.Sha256Hex(e.Receipt.GetRawText()), e.Hash, StringComparison.Ordinal))
            {
                return $"the receipt at byte {e.Offset} ({e.Capability}) was edited: it no longer matches its hash";
            }
            if (!string.Equals(e.String("PreviousHash") ?? "", expected, StringComparison.Ordinal))
            {
                return $"the receipt at byte {e.Offset} ({e.Capability}) does not follow the receipt before it (one was removed, inserted or reordered)";
            }
            expected = e.Hash;
        }
        return null;
    }

    /// <summary>
    /// A view of the ledger file (missing = empty), read when first needed. Lines that are not receipts are skipped
    /// (Test-RelocationReceiptChain reports them).
    /// </summary>
    public static LedgerView Load(string ledgerPath) => new(() => Read(ledgerPath), () => ReadBackward(ledgerPath));

    /// <summary><see cref="Load(string)"/> for an estate that lists <paramref name="signers"/> (<c>receipts.signers</c>).</summary>
    public static LedgerView Load(string ledgerPath, IReadOnlyList<ReceiptSignerKey> signers) =>
        new(() => Read(ledgerPath), () => ReadBackward(ledgerPath)) { Signers = signers };

    private static IEnumerable<LedgerEntry> ReadBackward(string ledgerPath)
    {
        foreach (var line in ReceiptStore.ReadLinesBackward(ledgerPath))
        {
            if (ToEntry(line.Text, 0) is { } entry)
            {
                yield return entry with { Offset = line.Offset };
            }
        }
    }

    private static LedgerEntry? ToEntry(string line, int number)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("receipt", out var receipt) || receipt.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var type = doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var capability = receipt.TryGetProperty("Capability", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
            var hash = doc.RootElement.TryGetProperty("hash", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
            var (key, signature) = ReceiptStore.SignatureOf(doc.RootElement);
            return new LedgerEntry(number, capability, type, receipt.Clone()) { Hash = hash, SignatureKey = key, Signature = signature };
        }
        catch (JsonException)
        {
            return null; // not a receipt line; the chain verification reports it
        }
    }

    private static IReadOnlyList<LedgerEntry> Read(string ledgerPath)
    {
        if (!File.Exists(ledgerPath))
        {
            return [];
        }
        var entries = new List<LedgerEntry>();
        var number = 0;
        using var stream = ReceiptStore.OpenForReading(ledgerPath);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            if (ToEntry(line, number) is { } entry)
            {
                entries.Add(entry);
            }
        }
        return entries;
    }

    /// <summary>The latest passing preflight receipt of <paramref name="changeId"/> (Outcome Passed, not a preview).</summary>
    public PreflightEvidence? LatestPreflight(string? changeId)
    {
        var entries = Relocation(changeId);
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            var e = entries[i];
            if (e.Capability != PreflightCapability || e.String("Outcome") != "Passed" || e.String("Mode") == "Preview"
                || !string.Equals(e.String("ChangeId"), changeId, StringComparison.Ordinal))
            {
                continue;
            }
            var health = new List<(string, bool)>();
            if (e.Receipt.TryGetProperty("HealthBaseline", out var hb) && hb.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in hb.EnumerateArray())
                {
                    health.Add((Str(item, "Service"), Bool(item, "Healthy")));
                }
            }
            var backups = new List<(string, bool)>();
            if (e.Receipt.TryGetProperty("BackupVerification", out var bv) && bv.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in bv.EnumerateArray())
                {
                    backups.Add((Str(item, "Service"), Bool(item, "Verified")));
                }
            }
            var (signature, signer) = SignatureOf(e);
            return new PreflightEvidence(e.Time("EndedUtc") ?? e.Time("StartedUtc") ?? DateTimeOffset.MinValue, e.String("RunId") ?? "", health, backups)
            {
                Signature = signature,
                Signer = signer?.Name,
            };
        }
        return null;
    }

    /// <summary>
    /// When <paramref name="service"/> last entered <paramref name="statusText"/> through a committed transition
    /// (Set-RelocationServiceStatus or Invoke-RelocationPromotion); null when the ledger does not say (hand edit,
    /// archived ledger). With <paramref name="changeId"/>, only that relocation's receipts are read.
    /// </summary>
    public DateTimeOffset? LastEntered(string service, string statusText, string? changeId = null)
    {
        var entries = Relocation(changeId);
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            var e = entries[i];
            if (e.Capability is not (ServiceCapability or PromotionCapability) || e.String("Mode") != "Execute"
                || e.String("Outcome") != "Succeeded" || e.String("Service") != service)
            {
                continue;
            }
            if (e.String("After") == statusText)
            {
                return e.Time("EndedUtc");
            }
        }
        return null;
    }

    private static string Str(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() ?? "" : "";

    private static bool Bool(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.True;
}
