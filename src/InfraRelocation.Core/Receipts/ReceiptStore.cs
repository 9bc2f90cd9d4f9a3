using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// Append-only receipt ledger: one JSON line per run in <c>ledger.jsonl</c>. Each line is
/// <c>{"hash":…,"type":…,"receipt":{…}}</c> where hash is the SHA-256 of the receipt's JSON text, and the
/// receipt carries the previous line's hash, so editing, removing or reordering a line breaks the chain.
/// A line's size does not grow with the run's findings: past <see cref="InlineFindings"/> the ledger keeps the first
/// ones, counts per rule and the digest of all of them (the full list goes to <c>reports/&lt;sha256&gt;.json</c> when
/// <see cref="KeepReports"/> is set). See docs/design/ledger.md.
/// </summary>
public sealed class ReceiptStore
{
    public const string LedgerFileName = "ledger.jsonl";

    /// <summary>Findings a ledger line keeps inline; beyond this it keeps counts per rule and a digest.</summary>
    public const int InlineFindings = 10;

    /// <summary>Free space the ledger's folder must have before a change is allowed to start.</summary>
    public const long RequiredFreeBytes = 256 * 1024;

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    private readonly string _folder;

    public ReceiptStore(string folder) => _folder = Path.GetFullPath(folder);

    public string Folder => _folder;

    public string LedgerPath => Path.Combine(_folder, LedgerFileName);

    /// <summary>Keep the full findings of a receipt that has more than <see cref="InlineFindings"/> in a content-addressed report file.</summary>
    public bool KeepReports { get; init; }

    /// <summary>Signs every appended receipt; null uses <c>$env:INFRA_RELOCATION_SIGNING_KEY</c> when set (<see cref="ReceiptSigner"/>).</summary>
    public ReceiptSigner? Signer { get; init; }

    private ReceiptSigner? ActiveSigner => Signer ?? ReceiptSigner.FromEnvironment();

    /// <summary>Appends a receipt and returns it with <c>PreviousHash</c> and <c>Hash</c> set (and, for many findings, their counts and digest).</summary>
    /// <exception cref="RelocationException"><c>ReceiptLedgerTorn</c> or <c>ReceiptLedgerUnwritable</c>; the ledger is unchanged then.</exception>
    public T Append<T>(T receipt) where T : RelocationReceipt
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var signer = ActiveSigner;
        return Unwritable(() =>
        {
            Directory.CreateDirectory(_folder);
            using var guard = AcquireLedgerLock();
            var tail = InspectTail();
            if (tail.Torn is { } torn)
            {
                throw TornError(torn);
            }
            var (ledgerForm, full) = Compact(receipt);
            var chained = ledgerForm with { PreviousHash = tail.LastHash, Hash = "" };
            var json = JsonSerializer.Serialize(chained, chained.GetType(), JsonOptions);
            // Secrets never reach the ledger: the receipt's text is masked before it is hashed and written.
            if (Secrets.SecretMask.Contains(json))
            {
                json = Secrets.SecretMask.Mask(json);
                full = Secrets.SecretMask.MaskRecord(full);
            }
            var hash = Digest.Sha256Hex(json);
            // The signature covers the hash, which covers the receipt's text and its link.
            var signature = signer is null ? "" : $",\"signature\":{{\"key\":\"{signer.Fingerprint}\",\"sig\":\"{signer.Sign(hash)}\"}}";
            var line = Encoding.UTF8.GetBytes($"{{\"hash\":\"{hash}\",\"type\":\"{chained.GetType().FullName}\",\"receipt\":{json}{signature}}}\n");
            WriteLine(line, tail.Length);
            return (T)(full with { PreviousHash = tail.LastHash, Hash = hash });
        });
    }

    /// <summary>
    /// Checks, before a change starts, that a receipt can be appended: the folder can be created and written, the tail
    /// is not torn, and there is room. Throws what <see cref="Append{T}"/> would throw; writes nothing but the folder.
    /// </summary>
    public void EnsureWritable()
    {
        _ = ActiveSigner; // a signing key that cannot be used stops the change too
        Unwritable(() =>
        {
            Directory.CreateDirectory(_folder);
            using var guard = AcquireLedgerLock();
            if (InspectTail().Torn is { } torn)
            {
                throw TornError(torn);
            }
            using (new FileStream(LedgerPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            {
            }
            var free = new DriveInfo(_folder).AvailableFreeSpace;
            if (free < RequiredFreeBytes)
            {
                throw new IOException($"only {free} bytes are free on the ledger's file system (a change needs {RequiredFreeBytes})");
            }
            return true;
        });
    }

    /// <summary>
    /// Reads every receipt of the ledger as its stored type (a subclass of <see cref="RelocationReceipt"/>
    /// when known, else the base record), in ledger order. A torn tail is left out (<see cref="Verify"/> reports it);
    /// any other line that is not a receipt is an error naming its line.
    /// </summary>
    public IEnumerable<RelocationReceipt> ReadAll()
    {
        var tornAt = InspectTail().Torn?.Offset;
        foreach (var line in ReadLines())
        {
            if (tornAt is { } cut && line.Offset >= cut)
            {
                yield break;
            }
            if (string.IsNullOrWhiteSpace(line.Text))
            {
                continue;
            }
            yield return Parse(line);
        }
    }

    /// <summary>Receipts from the newest back (stops when the caller stops): cost in proportion to how far back it reads.</summary>
    public IEnumerable<RelocationReceipt> ReadBackward()
    {
        foreach (var line in ReadLinesBackward(LedgerPath))
        {
            yield return Parse(line);
        }
    }

    private RelocationReceipt Parse(LedgerLine line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line.Text);
            var type = ResolveType(doc.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null);
            var receipt = (RelocationReceipt?)doc.RootElement.GetProperty("receipt").Deserialize(type, JsonOptions)
                ?? throw new JsonException("null receipt");
            return doc.RootElement.TryGetProperty("hash", out var hash) ? receipt with { Hash = hash.GetString() ?? "" } : receipt;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or NotSupportedException)
        {
            var where = line.Number > 0 ? $"Line {line.Number}" : $"The line at byte {line.Offset}";
            throw new RelocationException("ReceiptLedgerCorrupt", FailureKind.InvalidData,
                $"{where} of the receipt ledger is not a receipt: {ex.Message}",
                new SourceLocation(LedgerPath, Math.Max(1, line.Number), 1), LedgerPath, ex);
        }
    }

    /// <summary>
    /// Verifies the hash chain: every line's hash matches its receipt text, and every receipt names the
    /// previous line's hash. Reports the first broken link (edited, removed or reordered receipt), or a torn tail
    /// (an interrupted write: the intact receipts before it still verify) with its byte offset.
    /// </summary>
    public ReceiptChainResult Verify()
    {
        if (!File.Exists(LedgerPath))
        {
            return new ReceiptChainResult(true, 0, null, null, "The ledger is empty.");
        }
        var torn = InspectTail().Torn;
        var lines = new List<(int Number, long Offset, string Hash, string Previous, string Computed)>();
        foreach (var line in ReadLines())
        {
            if (torn is not null && line.Offset >= torn.Offset)
            {
                break;
            }
            if (string.IsNullOrWhiteSpace(line.Text))
            {
                continue;
            }
            if (!TryReadLink(line.Text, out var hash, out var previous, out var computed, out var error))
            {
                return new ReceiptChainResult(false, lines.Count, line.Number, ReceiptChainBreak.Edited,
                    $"Line {line.Number} (byte {line.Offset}) is not a well-formed receipt line ({error}).") { BrokenAtOffset = line.Offset };
            }
            lines.Add((line.Number, line.Offset, hash, previous, computed));
        }
        var allHashes = lines.Select(l => l.Hash).ToHashSet(StringComparer.Ordinal);
        var expectedPrevious = "";
        for (var i = 0; i < lines.Count; i++)
        {
            var (lineNumber, offset, hash, previous, computed) = lines[i];
            if (!string.Equals(hash, computed, StringComparison.Ordinal))
            {
                return new ReceiptChainResult(false, lines.Count, lineNumber, ReceiptChainBreak.Edited,
                    $"The receipt on line {lineNumber} was edited: its content no longer matches its hash.") { BrokenAtOffset = offset };
            }
            if (!string.Equals(previous, expectedPrevious, StringComparison.Ordinal))
            {
                var reordered = previous.Length > 0 && allHashes.Contains(previous) || (previous.Length == 0 && i > 0);
                return new ReceiptChainResult(false, lines.Count, lineNumber,
                    reordered ? ReceiptChainBreak.Reordered : ReceiptChainBreak.Removed,
                    reordered
                        ? $"The receipt on line {lineNumber} is out of order: it does not follow the receipt before it."
                        : $"The link into line {lineNumber} is broken: the previous receipt it names is missing (a receipt was removed, or the one before was rewritten).")
                { BrokenAtOffset = offset };
            }
            expectedPrevious = hash;
        }
        if (torn is not null)
        {
            return new ReceiptChainResult(false, lines.Count, lines.Count > 0 ? lines[^1].Number + 1 : 1, ReceiptChainBreak.Torn,
                $"The ledger ends in a torn write: {torn.Length} byte(s) from byte {torn.Offset} are not a complete receipt " +
                $"({torn.Reason}). The {lines.Count} receipts before it are intact; Repair-RelocationReceiptChain cuts the torn tail and records the repair.")
            { BrokenAtOffset = torn.Offset, HeadHash = expectedPrevious };
        }
        return new ReceiptChainResult(true, lines.Count, null, null, $"{lines.Count} receipts, chain intact.") { HeadHash = expectedPrevious };
    }

    /// <summary>
    /// <see cref="Verify()"/>, then the head anchored in the manifest (<paramref name="anchor"/>, the <c>ledger_anchor</c> value
    /// as written; null when the estate has none): a chain that does not reach it was truncated or rewritten
    /// (<see cref="ReceiptChainBreak.Anchor"/>). A torn tail is reported only when the anchor holds.
    /// </summary>
    public ReceiptChainResult Verify(string? anchor)
    {
        var result = Verify();
        if (anchor is null)
        {
            return result with { UnanchoredCount = result.ReceiptCount };
        }
        if (result.Break is not (null or ReceiptChainBreak.Torn))
        {
            return result;
        }
        var problem = LedgerAnchor.Parse(anchor) is { } parsed
            ? parsed.Problem(LedgerAnchor.ReadBackward(LedgerPath))
            : $"the manifest's {LedgerAnchor.ManifestKey} '{anchor}' is not an anchor (expected 'tx <id> after <sha256>')";
        if (problem is null)
        {
            return result with { Anchored = true, UnanchoredCount = LedgerAnchor.Parse(anchor)!.Unanchored(LedgerAnchor.ReadBackward(LedgerPath)) };
        }
        return new ReceiptChainResult(false, result.ReceiptCount, null, ReceiptChainBreak.Anchor,
            $"The ledger does not reach the head the manifest anchors: {problem}.") { HeadHash = result.HeadHash };
    }

    /// <summary>
    /// Who signed what: every intact receipt line with its signature judged against <paramref name="signers"/> (the keys
    /// <c>receipts.signers</c> lists), in ledger order.
    /// </summary>
    public IReadOnlyList<ReceiptSignature> Signatures(IReadOnlyList<ReceiptSignerKey> signers)
    {
        var tornAt = InspectTail().Torn?.Offset;
        var result = new List<ReceiptSignature>();
        foreach (var line in ReadLines())
        {
            if (tornAt is { } cut && line.Offset >= cut)
            {
                break;
            }
            try
            {
                using var doc = JsonDocument.Parse(line.Text);
                var root = doc.RootElement;
                var receipt = root.GetProperty("receipt");
                var (fingerprint, signature) = SignatureOf(root);
                var (status, key) = ReceiptSigner.Check(root.GetProperty("hash").GetString() ?? "", fingerprint, signature, signers);
                string? Str(string name) => receipt.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                result.Add(new ReceiptSignature(line.Number, line.Offset, Str("Capability") ?? "", Str("RunId") ?? "", Str("Outcome"), status, key?.Name, fingerprint));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // not a receipt line: Verify reports it
            }
        }
        return result;
    }

    /// <summary>The signing key's fingerprint and the signature a ledger line carries (nulls when unsigned).</summary>
    public static (string? Fingerprint, string? Signature) SignatureOf(JsonElement line) =>
        line.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.Object
        && s.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String && s.TryGetProperty("sig", out var v) && v.ValueKind == JsonValueKind.String
            ? (k.GetString(), v.GetString())
            : (null, null);

    /// <summary>The hash of the last intact receipt ("" for an empty ledger): the head a change anchors in the manifest.</summary>
    public string HeadHash() => InspectTail().LastHash;

    /// <summary>
    /// Cuts a torn tail (see <see cref="Verify"/>) off the ledger, keeping the removed bytes in
    /// <c>ledger.jsonl.torn-&lt;offset&gt;-&lt;sha256 prefix&gt;</c> beside it; null when the tail is intact. Damage before the
    /// last intact receipt is not a torn write and is not repaired here.
    /// </summary>
    public LedgerRepair? RepairTornTail()
    {
        return Unwritable(() =>
        {
            if (!File.Exists(LedgerPath))
            {
                return null;
            }
            using var guard = AcquireLedgerLock();
            if (InspectTail().Torn is not { } torn)
            {
                return null;
            }
            byte[] removed;
            using (var stream = new FileStream(LedgerPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
            {
                removed = new byte[stream.Length - torn.Offset];
                stream.Position = torn.Offset;
                stream.ReadExactly(removed);
                var digest = Digest.Sha256Hex(removed);
                var saved = Path.Combine(_folder, $"{LedgerFileName}.torn-{torn.Offset}-{digest[..12]}");
                Persistence.AtomicFile.Write(saved, removed);
                stream.SetLength(torn.Offset);
                stream.Flush(flushToDisk: true);
                return new LedgerRepair(torn.Offset, removed.LongLength, digest, saved, torn.Reason);
            }
        });
    }

    internal static Type ResolveType(string? name)
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

    // ---- the ledger form of a receipt ---------------------------------------------------------------------------

    /// <summary>
    /// The receipt as the ledger keeps it (findings cut to <see cref="InlineFindings"/> plus counts and digest; gate
    /// results without their copy of the findings) and as the caller gets it back (every finding, plus the same summary).
    /// </summary>
    private (RelocationReceipt Ledger, RelocationReceipt Full) Compact(RelocationReceipt receipt)
    {
        var ledger = receipt;
        if (receipt is GateReceipt gate && gate.Results.Any(r => r.Findings.Count > 0))
        {
            // Each result's findings are also the receipt's findings: the ledger keeps them once.
            ledger = gate with { Results = gate.Results.Select(r => r with { Findings = [] }).ToList() };
        }
        var all = receipt.Findings;
        if (all.Count <= InlineFindings)
        {
            return (ledger, receipt);
        }
        // Without a report to keep or a secret to mask, the digest is taken as the text is written: a large run's
        // report text is never built (FindingsReport).
        string digest;
        string? reportPath = null;
        if (KeepReports || Secrets.SecretMask.Any)
        {
            var report = FindingsReport.Utf8(all);
            if (Secrets.SecretMask.Any)
            {
                var reportText = Encoding.UTF8.GetString(report);
                if (Secrets.SecretMask.Contains(reportText))
                {
                    report = Encoding.UTF8.GetBytes(Secrets.SecretMask.Mask(reportText));
                }
            }
            digest = Digest.Sha256Hex(report);
            if (KeepReports)
            {
                reportPath = $"reports/{digest}.json";
                var full = Path.Combine(_folder, "reports", digest + ".json");
                if (!File.Exists(full))
                {
                    Persistence.AtomicFile.Write(full, report);
                }
            }
        }
        else
        {
            digest = FindingsReport.Sha256Hex(all);
        }
        var counts = CountByRule(all);
        ledger = ledger with { Findings = all.Take(InlineFindings).ToList(), FindingCounts = counts, FindingsSha256 = digest, FindingsReport = reportPath };
        return (ledger, receipt with { FindingCounts = counts, FindingsSha256 = digest, FindingsReport = reportPath });
    }

    // Counts per rule and severity, ordered by rule (ordinal) then severity; one pass, no LINQ grouping (a cold
    // process would compile its value-tuple shapes).
    private static List<FindingCount> CountByRule(IReadOnlyList<RelocationFinding> findings)
    {
        var severities = Enum.GetValues<FindingSeverity>();
        var tally = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var finding in findings)
        {
            if (!tally.TryGetValue(finding.RuleId, out var perSeverity))
            {
                tally[finding.RuleId] = perSeverity = new int[severities.Length];
            }
            perSeverity[Array.IndexOf(severities, finding.Severity)]++;
        }
        var rules = new List<string>(tally.Keys);
        rules.Sort(StringComparer.Ordinal);
        var counts = new List<FindingCount>();
        foreach (var rule in rules)
        {
            for (var i = 0; i < severities.Length; i++)
            {
                if (tally[rule][i] > 0)
                {
                    counts.Add(new FindingCount(rule, severities[i], tally[rule][i]));
                }
            }
        }
        return counts;
    }

    // ---- lines ---------------------------------------------------------------------------------------------------

    /// <summary>One complete line of the ledger: its 1-based number (0 when read from the tail) and byte offset.</summary>
    public sealed record LedgerLine(int Number, long Offset, string Text);

    /// <summary>Bytes at the end of the ledger that are not a complete receipt line: an interrupted (torn) write.</summary>
    public sealed record TornTail(long Offset, long Length, string Reason);

    private sealed record Tail(string LastHash, long Length, TornTail? Torn);

    /// <summary>The torn tail of the ledger, if any (null when intact or missing).</summary>
    public TornTail? FindTornTail() => InspectTail().Torn;

    private IEnumerable<LedgerLine> ReadLines()
    {
        if (!File.Exists(LedgerPath))
        {
            yield break;
        }
        using var stream = OpenForReading(LedgerPath, 1 << 16);
        var buffer = new MemoryStream();
        var number = 0;
        long lineStart = 0;
        long position = 0;
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (chunk[i] != (byte)'\n')
                {
                    continue;
                }
                buffer.Write(chunk, start, i - start);
                number++;
                yield return new LedgerLine(number, lineStart, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).TrimEnd('\r'));
                buffer.SetLength(0);
                lineStart = position + i + 1;
                start = i + 1;
            }
            buffer.Write(chunk, start, read - start);
            position += read;
        }
        if (buffer.Length > 0)
        {
            yield return new LedgerLine(number + 1, lineStart, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }

    /// <summary>
    /// Opens a ledger for reading, only when it is a regular file (<c>EstateFileNotRegular</c> otherwise): a FIFO in its
    /// place would block the open forever, a device would never end (issue 16.6). Every reader of the ledger opens it here.
    /// </summary>
    public static FileStream OpenForReading(string ledgerPath, int bufferSize = 4096)
    {
        LocatedYamlReader.RequireRegularFile(ledgerPath, ledgerPath);
        return new FileStream(ledgerPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize);
    }

    /// <summary>Complete, parseable receipt lines from the end of <paramref name="ledgerPath"/> back (a torn tail is skipped).</summary>
    public static IEnumerable<LedgerLine> ReadLinesBackward(string ledgerPath)
    {
        if (!File.Exists(ledgerPath))
        {
            yield break;
        }
        using var stream = OpenForReading(ledgerPath, 1);
        var end = stream.Length;
        var tornAt = TornTailOf(stream)?.Offset ?? end;
        foreach (var line in Backward(stream, tornAt))
        {
            yield return line;
        }
    }

    private static IEnumerable<LedgerLine> Backward(FileStream stream, long end)
    {
        const int Chunk = 1 << 16;
        var pending = new List<byte[]>(); // pieces of the current line, last piece first
        var position = end;
        var buffer = new byte[Chunk];
        // The byte at end-1 is the '\n' of the last complete line: skip it.
        if (position > 0)
        {
            position--;
        }
        while (position > 0)
        {
            var size = (int)Math.Min(Chunk, position);
            position -= size;
            stream.Position = position;
            stream.ReadExactly(buffer, 0, size);
            var segmentEnd = size;
            for (var i = size - 1; i >= 0; i--)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }
                pending.Add(buffer[(i + 1)..segmentEnd]);
                var text = Join(pending);
                pending.Clear();
                if (!string.IsNullOrWhiteSpace(text))
                {
                    yield return new LedgerLine(0, position + i + 1, text);
                }
                segmentEnd = i;
            }
            pending.Add(buffer[..segmentEnd]);
        }
        var first = Join(pending);
        if (!string.IsNullOrWhiteSpace(first))
        {
            yield return new LedgerLine(0, 0, first);
        }
    }

    private static string Join(List<byte[]> piecesLastFirst)
    {
        var total = piecesLastFirst.Sum(p => p.Length);
        var bytes = new byte[total];
        var at = 0;
        for (var i = piecesLastFirst.Count - 1; i >= 0; i--)
        {
            piecesLastFirst[i].CopyTo(bytes, at);
            at += piecesLastFirst[i].Length;
        }
        return Encoding.UTF8.GetString(bytes).TrimEnd('\r');
    }

    private Tail InspectTail()
    {
        if (!File.Exists(LedgerPath))
        {
            return new Tail("", 0, null);
        }
        using var stream = OpenForReading(LedgerPath, 1);
        var torn = TornTailOf(stream);
        var end = torn?.Offset ?? stream.Length;
        foreach (var line in Backward(stream, end))
        {
            return new Tail(HashOf(line.Text) ?? "", stream.Length, torn);
        }
        return new Tail("", stream.Length, torn);
    }

    /// <summary>
    /// The torn tail: bytes after the last complete line that is a receipt line. A file that does not end in a newline
    /// ends in a torn write; complete but unparseable lines at the very end are torn too (a full disk writes those).
    /// </summary>
    private static TornTail? TornTailOf(FileStream stream)
    {
        var length = stream.Length;
        if (length == 0)
        {
            return null;
        }
        stream.Position = length - 1;
        var endsWithNewline = stream.ReadByte() == '\n';
        long cut = length;
        string? reason = null;
        if (!endsWithNewline)
        {
            // find the start of the unterminated fragment
            cut = LastNewlineBefore(stream, length) + 1;
            reason = "the last line has no line end";
        }
        // complete lines at the end that are not receipt lines
        var examined = 0;
        foreach (var line in Backward(stream, cut))
        {
            if (HashOf(line.Text) is not null || examined++ > 16)
            {
                break;
            }
            cut = line.Offset;
            reason ??= "the last line is not a receipt";
        }
        return cut < length ? new TornTail(cut, length - cut, reason ?? "incomplete") : null;
    }

    private static long LastNewlineBefore(FileStream stream, long end)
    {
        var buffer = new byte[4096];
        var position = end;
        while (position > 0)
        {
            var size = (int)Math.Min(buffer.Length, position);
            position -= size;
            stream.Position = position;
            stream.ReadExactly(buffer, 0, size);
            for (var i = size - 1; i >= 0; i--)
            {
                if (buffer[i] == '\n')
                {
                    return position + i;
                }
            }
        }
        return -1;
    }

    /// <summary>The stored hash of a well-formed receipt line; null when the line is not one.</summary>
    private static string? HashOf(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("receipt", out var r) && r.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("hash", out var h) && h.ValueKind == JsonValueKind.String
                ? h.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryReadLink(string text, out string hash, out string previous, out string computed, out string error)
    {
        hash = previous = computed = error = "";
        try
        {
            using var doc = JsonDocument.Parse(text);
            var receipt = doc.RootElement.GetProperty("receipt");
            previous = receipt.TryGetProperty("PreviousHash", out var p) ? p.GetString() ?? "" : "";
            hash = doc.RootElement.GetProperty("hash").GetString() ?? "";
            computed = Digest.Sha256Hex(receipt.GetRawText());
            return true;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            error = ex.Message;
            return false;
        }
    }

    // ---- writing -------------------------------------------------------------------------------------------------

    /// <summary>One write of the whole line, flushed to disk; a failed write is cut back so it leaves no torn tail.</summary>
    private void WriteLine(byte[] line, long lengthBefore)
    {
        using var stream = new FileStream(LedgerPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        stream.Position = lengthBefore;
        try
        {
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            try
            {
                stream.SetLength(lengthBefore);
            }
            catch (IOException)
            {
                // the next reader reports the torn tail
            }
            throw;
        }
    }

    private RelocationException TornError(TornTail torn) =>
        new("ReceiptLedgerTorn", FailureKind.InvalidData,
            $"The receipt ledger {LedgerPath} ends in a torn write at byte {torn.Offset} ({torn.Length} bytes, {torn.Reason}); " +
            "no receipt can be appended, so nothing was changed. Run Repair-RelocationReceiptChain to cut the torn tail (it keeps the bytes and records the repair).",
            new SourceLocation(LedgerPath, 1, 1), LedgerPath);

    private T Unwritable<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("ReceiptLedgerUnwritable", FailureKind.WriteError,
                $"The receipt ledger {LedgerPath} cannot be written ({ex.Message}); without its receipt no change is made. " +
                "Free space or make the receipts folder writable, or point $env:INFRA_RELOCATION_RECEIPTS at a writable folder.",
                new SourceLocation(LedgerPath, 1, 1), LedgerPath, ex);
        }
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
            catch (IOException ex) when (DateTime.UtcNow < deadline && ex is not DirectoryNotFoundException && !IsReadOnlyOrFull(ex))
            {
                Thread.Sleep(Random.Shared.Next(5, 25));
            }
        }
    }

    // EROFS (30), ENOSPC (28), EACCES (13): waiting does not help.
    private static bool IsReadOnlyOrFull(IOException ex) => (ex.HResult & 0xFFFF) is 30 or 28 or 13;
}

/// <summary>How the receipt chain is broken.</summary>
public enum ReceiptChainBreak
{
    Edited,
    Removed,
    Reordered,
    /// <summary>The ledger ends in an interrupted write; the receipts before it are intact.</summary>
    Torn,
    /// <summary>The chain does not reach the head anchored outside the ledger (truncated or rewritten).</summary>
    Anchor,
}

/// <summary>Result of <see cref="ReceiptStore.Verify"/>: intact, or the first broken link.</summary>
public sealed record ReceiptChainResult(bool IsValid, int ReceiptCount, int? BrokenAtLine, ReceiptChainBreak? Break, string Message)
{
    /// <summary>Byte offset of the damage in the ledger file (null when intact).</summary>
    public long? BrokenAtOffset { get; init; }
    /// <summary>Hash of the last intact receipt ("" for an empty ledger).</summary>
    public string HeadHash { get; init; } = "";
    /// <summary>True when the chain was also checked against the head the manifest anchors, and reaches it.</summary>
    public bool Anchored { get; init; }
    /// <summary>
    /// Receipts the manifest's anchor does not seal: those after the anchored head (the last change's own receipt and every
    /// one since), or all of them when the manifest has no anchor. Only the chain, and signatures, vouch for them.
    /// </summary>
    public int UnanchoredCount { get; init; }
}

/// <summary>One receipt line and who signed it (<see cref="ReceiptStore.Signatures"/>).</summary>
public sealed record ReceiptSignature(int Line, long Offset, string Capability, string RunId, string? Outcome, ReceiptSignatureStatus Status,
    string? Signer, string? Fingerprint);

/// <summary>What <see cref="ReceiptStore.RepairTornTail"/> cut and where it kept it.</summary>
public sealed record LedgerRepair(long Offset, long RemovedBytes, string RemovedSha256, string SavedAs, string Reason);
