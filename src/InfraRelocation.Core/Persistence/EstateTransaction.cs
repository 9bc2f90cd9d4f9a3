using System.Text;
using System.Text.Json;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Persistence;

/// <summary>One file a commit changed.</summary>
public sealed record CommittedFile(string Path, string? OldSha256, string NewSha256);

/// <summary>What <see cref="EstateTransaction.Commit"/> wrote (empty Files when nothing changed).</summary>
public sealed record TransactionOutcome(string TransactionId, IReadOnlyList<CommittedFile> Files);

/// <summary>
/// A journal left by a crashed transaction, and how it was completed: rolled back (the originals restored), or rolled
/// forward when the ledger already holds the transaction's Succeeded receipt (the new content written).
/// </summary>
public sealed record JournalRecovery(string Journal, string TransactionId, int Pid, string Machine, DateTime StartedUtc,
    IReadOnlyList<string> RestoredFiles)
{
    /// <summary>True when the ledger held the transaction's Succeeded receipt and recovery finished the write.</summary>
    public bool RolledForward { get; init; }
}

/// <summary>
/// The receipt a commit records as part of the transaction (<see cref="EstateTransaction.Commit(CommitReceipt)"/>).
/// </summary>
public sealed record CommitReceipt
{
    /// <summary>The ledger the receipt goes to; checked writable before anything is written.</summary>
    public required ReceiptStore Store { get; init; }
    /// <summary>Runs after the files are written, while the journal still holds the originals: null keeps the change, a reason restores the originals.</summary>
    public Func<TransactionOutcome, string?>? Verify { get; init; }
    /// <summary>Builds the receipt of the outcome (the revert reason is null when the change was kept).</summary>
    public required Func<TransactionOutcome, string?, RelocationReceipt> Build { get; init; }
    /// <summary>
    /// The YAML file (the manifest, relative path) whose top-level <c>ledger_anchor</c> records the ledger's head and this
    /// transaction, written with the change (<see cref="LedgerAnchor"/>); null writes no anchor.
    /// </summary>
    public string? AnchorIn { get; init; }
}

/// <summary>What <see cref="EstateTransaction.Commit(CommitReceipt)"/> wrote and recorded.</summary>
public sealed record RecordedCommit(TransactionOutcome Outcome, string? RevertReason, RelocationReceipt Receipt);

/// <summary>
/// A multi-file change of an estate that either happens completely or not at all. Usage (under a lease):
/// <code>
/// using var lease = EstateLease.Acquire(root, "Set-RelocationState", TimeSpan.FromSeconds(30), ct);
/// using var tx = EstateTransaction.Begin(lease);          // rolls back journals left by crashed runs
/// var manifest = tx.Read(path);                            // every read is digested
/// ... decide, run guards ...
/// tx.EditYaml(path, [YamlEdit.Set("active_relocation.state", "cutover", expected: "preflight")]);
/// if (whatIf) { show tx.Diff; return; }
/// var outcome = tx.Commit();                               // verify lease + digests, journal, atomic writes
/// </code>
/// Commit writes a journal holding every original first, then each file atomically, then deletes the journal.
/// A failure part-way restores the files already written; a crash leaves the journal, which the next
/// <see cref="Begin"/> (or <see cref="Recover"/>) rolls back before anything else happens.
/// </summary>
public sealed class EstateTransaction : IDisposable
{
    public const string JournalFolder = ".infra-relocation/journal";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly Dictionary<string, StagedFile> _staged = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private bool _committed;

    private EstateTransaction(string estateRoot, EstateLease? lease, IReadOnlyList<JournalRecovery> recovered)
    {
        Lease = lease;
        EstateRoot = Path.GetFullPath(estateRoot);
        Inputs = new InputDigests(EstateRoot);
        Recovered = recovered;
    }

    /// <summary>The lease this transaction commits under; null for a <see cref="Preview"/>.</summary>
    public EstateLease? Lease { get; }
    public string EstateRoot { get; }

    /// <summary>Digests of everything read through this transaction (add more with <c>Inputs.Read/Record</c>).</summary>
    public InputDigests Inputs { get; }

    /// <summary>Journals of crashed transactions rolled back when this one began.</summary>
    public IReadOnlyList<JournalRecovery> Recovered { get; }

    /// <summary>Test hook: called before each file write with its relative path (throw to inject a failure).</summary>
    internal Action<string>? BeforeFileWrite { get; set; }

    /// <summary>Starts a transaction under <paramref name="lease"/>, first rolling back any journal a crashed run left.</summary>
    public static EstateTransaction Begin(EstateLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lease.EnsureHeld();
        return new EstateTransaction(lease.EstateRoot, lease, Recover(lease));
    }

    /// <summary>
    /// A transaction for -WhatIf: reads, stages and diffs without taking the lease; <see cref="Commit"/> refuses.
    /// It does not roll back crashed journals (that needs the lease); check <see cref="PendingJournals"/> to warn.
    /// </summary>
    public static EstateTransaction Preview(string estateRoot) => new(estateRoot, null, []);

    /// <summary>Journals left by crashed transactions (relative paths), which the next <see cref="Begin"/> rolls back.</summary>
    public static IReadOnlyList<string> PendingJournals(string estateRoot)
    {
        var root = Path.GetFullPath(estateRoot);
        var folder = Path.Combine(root, JournalFolder);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.json").Where(p => !AtomicFile.IsTempFile(p)).Order(StringComparer.Ordinal)
                .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/')).ToList()
            : [];
    }

    /// <summary>Commands that take the lease and so complete a pending journal first (named in <see cref="PendingJournalNotices"/>).</summary>
    public const string RecoveringCommands = "Set-RelocationState, Set-RelocationServiceStatus, Set-RelocationVmTarget, Invoke-RelocationPromotion, " +
        "Start-Relocation, Close-Relocation or New-ProxmoxVm, without -WhatIf";

    /// <summary>
    /// One warning per journal a crashed transaction left: which journal, transaction and files, how the next mutating run
    /// will complete it (finish the change when the ledger holds its receipt, else restore the files' content from before
    /// it), and which commands do that. Read-only commands show them, so a crash is never reported silently as the
    /// estate's state (issue 16.9).
    /// </summary>
    public static IReadOnlyList<string> PendingJournalNotices(string estateRoot)
    {
        var root = Path.GetFullPath(estateRoot);
        var notices = new List<string>();
        foreach (var rel in PendingJournals(root))
        {
            string what;
            try
            {
                var journal = JsonSerializer.Deserialize<Journal>(File.ReadAllBytes(Path.Combine(root, rel))) ?? throw new JsonException("empty");
                var files = string.Join(", ", journal.Files.Select(f => f.Path));
                var forward = journal.ReceiptsFolder is { } folder && journal.Files.All(f => f.NewBase64 is not null)
                    && RecordedOutcome(folder, journal) == nameof(ReceiptOutcome.Succeeded);
                what = $"transaction {journal.Id} (pid {journal.Pid} on {journal.Machine}, started {journal.StartedUtc:yyyy-MM-ddTHH:mm:ssZ}) " +
                       $"crashed while writing {files}. " +
                       (forward
                           ? "The ledger holds its receipt, so the next mutating run finishes it: those files get the content the receipt records"
                           : "The ledger holds no receipt for it, so the next mutating run undoes it: those files get back their content from before it");
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
            {
                what = $"a crashed transaction left it, and it cannot be read ({ex.Message}); the next mutating run stops on it until it is inspected and removed";
            }
            notices.Add($"Journal {rel} is pending: {what}. Until then, what this command read may include part of that change. " +
                        $"Any mutating command ({RecoveringCommands}) completes the journal before it does anything else.");
        }
        return notices;
    }

    /// <summary>The staged content of a file if it was staged, else its bytes on disk (digested); null when missing.</summary>
    public byte[]? Read(string relativePath)
    {
        var rel = Inputs.Relative(relativePath);
        return _staged.TryGetValue(rel, out var staged) ? (byte[]?)staged.NewBytes?.Clone() : Inputs.Read(rel);
    }

    /// <summary>
    /// Stages scalar edits of a YAML file (cumulative: edits of the same file add up, applied to the bytes first
    /// read). Throws <see cref="RelocationException"/> for a missing path or a failed expectation; nothing is staged then.
    /// </summary>
    public YamlEditResult EditYaml(string relativePath, IEnumerable<YamlEdit> edits)
    {
        var rel = Inputs.Relative(relativePath);
        var staged = GetOrLoad(rel);
        if (staged.Original is null)
        {
            throw new RelocationException("EstateFileMissing", FailureKind.ObjectNotFound,
                $"{rel} does not exist; it cannot be edited.", new SourceLocation(rel, 1, 1), rel);
        }
        var all = staged.Edits.Concat(edits).ToList();
        // Edits apply to the bytes first read, or to the whole new content a Stage gave the file (e.g. an archived block).
        var result = YamlScalarEditor.Apply(staged.Base ?? staged.Original, all, rel, Trees);
        staged.Edits = all;
        staged.NewBytes = result.Bytes;
        staged.Diff = result.Diff;
        return result;
    }

    /// <summary>Stages a whole new content for a file (created when missing).</summary>
    public void Stage(string relativePath, byte[] newBytes)
    {
        var rel = Inputs.Relative(relativePath);
        var staged = GetOrLoad(rel);
        staged.NewBytes = (byte[])newBytes.Clone();
        staged.Base = staged.NewBytes;
        staged.Edits = [];
        staged.Diff = staged.Original is not null && staged.Original.AsSpan().SequenceEqual(newBytes)
            ? string.Empty
            : $"--- a/{rel}\n+++ b/{rel}\n@@ whole file rewritten: {staged.Original?.Length ?? 0} -> {newBytes.Length} bytes @@\n";
    }

    /// <summary>The trees of the texts this stage edits and writes: the editor, its read-back, the guard and the check after the write share them.</summary>
    public LocatedTrees Trees { get; } = new();

    /// <summary>Relative paths of files whose staged content differs from the original.</summary>
    public IReadOnlyList<string> ChangedFiles => _order.Where(p => _staged[p].Changed).ToList();

    /// <summary>Unified diff of every staged change (the -WhatIf preview).</summary>
    public string Diff => string.Concat(_order.Select(p => _staged[p].Diff));

    /// <summary>
    /// Writes every staged change: checks the lease is still held and no input changed (<c>EstateFileChanged</c>),
    /// journals the originals, writes each file atomically, deletes the journal. On failure restores what was written
    /// and throws <c>EstateTransactionRolledBack</c>; if even that fails, <c>EstateTransactionIncomplete</c> (the
    /// journal stays and the next transaction rolls it back).
    /// </summary>
    public TransactionOutcome Commit()
    {
        if (_committed)
        {
            throw new InvalidOperationException("This transaction was already committed.");
        }
        if (Lease is null)
        {
            throw new InvalidOperationException("A preview transaction cannot commit; use EstateTransaction.Begin(lease).");
        }
        _committed = true;
        var changed = ChangedFiles.Select(p => _staged[p]).ToList();
        if (changed.Count == 0)
        {
            return new TransactionOutcome(Guid.NewGuid().ToString("N")[..12], []);
        }

        Lease.EnsureHeld();
        Inputs.VerifyUnchanged();
        var (journalPath, _, outcome) = WriteAll(changed, receiptsFolder: null, NewTransactionId());
        File.Delete(journalPath);
        return outcome;
    }

    /// <summary>
    /// Commits with the receipt inside the transaction: the ledger is checked writable before anything is written
    /// (<c>ReceiptLedgerUnwritable</c>/<c>ReceiptLedgerTorn</c> stop the change), the journal keeps the originals and the
    /// new content, the files are written, <see cref="CommitReceipt.Verify"/> may ask to restore the originals, the
    /// receipt is appended, and only then is the journal deleted. A crash before the receipt is appended rolls back on
    /// the next run; a crash after it rolls forward to what the receipt records. A receipt that cannot be appended
    /// restores the originals. So every estate file holds either its content before or the content a receipt records.
    /// </summary>
    public RecordedCommit Commit(CommitReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        if (_committed)
        {
            throw new InvalidOperationException("This transaction was already committed.");
        }
        if (Lease is null)
        {
            throw new InvalidOperationException("A preview transaction cannot commit; use EstateTransaction.Begin(lease).");
        }
        var changed = ChangedFiles.Select(p => _staged[p]).ToList();
        if (changed.Count == 0)
        {
            _committed = true;
            var nothing = new TransactionOutcome(Guid.NewGuid().ToString("N")[..12], []);
            return new RecordedCommit(nothing, null, receipt.Store.Append(receipt.Build(nothing, null)));
        }
        Lease.EnsureHeld();
        receipt.Store.EnsureWritable();
        var id = NewTransactionId();
        if (receipt.AnchorIn is { } anchorFile)
        {
            // The head before this change's receipt, and the change itself: the git history of the manifest anchors the ledger.
            EditYaml(anchorFile, [YamlEdit.Set(LedgerAnchor.ManifestKey, new LedgerAnchor(id, receipt.Store.HeadHash()).Text)]);
            changed = ChangedFiles.Select(p => _staged[p]).ToList();
        }
        Inputs.VerifyUnchanged();
        _committed = true;

        var (journalPath, journal, outcome) = WriteAll(changed, receipt.Store.Folder, id);
        string? reason;
        try
        {
            reason = receipt.Verify?.Invoke(outcome);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            RollBack(journalPath, journal, changed[0].Path, ex);
            throw; // unreachable
        }
        if (reason is not null)
        {
            RestoreOrKeepJournal(journalPath, journal, "restoring the originals after the check failed");
        }
        RelocationReceipt recorded;
        try
        {
            BeforeReceiptAppend?.Invoke();
            recorded = receipt.Store.Append(receipt.Build(outcome, reason));
            AfterReceiptAppend?.Invoke();
        }
        catch (RelocationException ex)
        {
            if (reason is null)
            {
                RollBack(journalPath, journal, receipt.Store.LedgerPath, ex);
            }
            File.Delete(journalPath);
            throw;
        }
        File.Delete(journalPath);
        return new RecordedCommit(outcome, reason, recorded);
    }

    /// <summary>Test hook: called after the files are written and before the receipt is appended (kill -9 here in crash tests).</summary>
    internal Action? BeforeReceiptAppend { get; set; }

    /// <summary>Test hook: called after the receipt is appended and before the journal is deleted.</summary>
    internal Action? AfterReceiptAppend { get; set; }

    private static string NewTransactionId() => Guid.NewGuid().ToString("N")[..12];

    private (string JournalPath, Journal Journal, TransactionOutcome Outcome) WriteAll(List<StagedFile> changed, string? receiptsFolder, string id)
    {
        var journal = new Journal(id, Environment.ProcessId, Environment.MachineName, DateTime.UtcNow,
            changed.Select(s => new JournalEntry(s.Path, s.Original is null ? null : Convert.ToBase64String(s.Original),
                s.Original is null ? null : Digest.Sha256Hex(s.Original), Digest.Sha256Hex(s.NewBytes!))
            {
                NewBase64 = receiptsFolder is null ? null : Convert.ToBase64String(s.NewBytes!),
            }).ToList())
        {
            ReceiptsFolder = receiptsFolder,
        };
        var journalPath = Inputs.FullPath($"{JournalFolder}/{journal.StartedUtc:yyyyMMddTHHmmssfff}-{id}.json");
        AtomicFile.Write(journalPath, JsonSerializer.SerializeToUtf8Bytes(journal, Json));
        foreach (var file in changed)
        {
            try
            {
                BeforeFileWrite?.Invoke(file.Path);
                AtomicFile.Write(Inputs.FullPath(file.Path), file.NewBytes);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                RollBack(journalPath, journal, file.Path, ex);
                throw; // unreachable: RollBack always throws
            }
        }
        return (journalPath, journal, new TransactionOutcome(id, journal.Files.Select(f => new CommittedFile(f.Path, f.OriginalSha256, f.NewSha256)).ToList()));
    }

    private void RestoreOrKeepJournal(string journalPath, Journal journal, string what)
    {
        try
        {
            RestoreOriginals(EstateRoot, journal, strict: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("EstateTransactionIncomplete", FailureKind.WriteError,
                $"{what} failed ({ex.Message}). The journal {Path.GetRelativePath(EstateRoot, journalPath)} keeps them; the next change of this estate rolls it back.",
                null, EstateRoot, ex);
        }
    }

    private void RollBack(string journalPath, Journal journal, string failedFile, Exception cause)
    {
        try
        {
            var restored = RestoreOriginals(EstateRoot, journal, strict: false);
            File.Delete(journalPath);
            throw new RelocationException("EstateTransactionRolledBack", FailureKind.WriteError,
                $"Writing {failedFile} failed ({cause.Message}); " +
                (restored.Count == 0 ? "no file had been changed yet" : $"restored {string.Join(", ", restored)}") +
                ". Nothing was changed.", new SourceLocation(failedFile, 1, 1), failedFile, cause);
        }
        catch (Exception restoreError) when (restoreError is IOException or UnauthorizedAccessException)
        {
            throw new RelocationException("EstateTransactionIncomplete", FailureKind.WriteError,
                $"Writing {failedFile} failed ({cause.Message}) and restoring the originals failed too ({restoreError.Message}). " +
                $"The journal {Path.GetRelativePath(EstateRoot, journalPath)} keeps them; the next change of this estate rolls it back.",
                new SourceLocation(failedFile, 1, 1), failedFile, cause);
        }
    }

    /// <summary>
    /// Rolls back every journal a crashed transaction left (restoring the originals it recorded) and deletes it.
    /// Must run under the lease (a live transaction's journal would otherwise be undone). A file that is neither
    /// the original nor the journaled new content (edited by hand since the crash) stops recovery with
    /// <c>EstateJournalConflict</c>, keeping the journal.
    /// </summary>
    public static IReadOnlyList<JournalRecovery> Recover(EstateLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lease.EnsureHeld();
        var folder = new Estate.EstateBoundary(lease.EstateRoot).Resolve(JournalFolder);
        if (!Directory.Exists(folder))
        {
            return [];
        }
        var recovered = new List<JournalRecovery>();
        foreach (var path in Directory.EnumerateFiles(folder, "*.json").Where(p => !AtomicFile.IsTempFile(p)).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(lease.EstateRoot, path).Replace('\\', '/');
            Journal journal;
            try
            {
                journal = JsonSerializer.Deserialize<Journal>(File.ReadAllBytes(path)) ?? throw new JsonException("empty");
            }
            catch (JsonException ex)
            {
                throw new RelocationException("EstateJournalUnreadable", FailureKind.InvalidData,
                    $"The transaction journal {rel} cannot be read ({ex.Message}); inspect and remove it by hand.",
                    new SourceLocation(rel, 1, 1), rel, ex);
            }
            var forward = journal.ReceiptsFolder is { } receiptsFolder && journal.Files.All(f => f.NewBase64 is not null)
                && RecordedOutcome(receiptsFolder, journal) == nameof(ReceiptOutcome.Succeeded);
            var restored = forward ? RollForward(lease.EstateRoot, journal) : RestoreOriginals(lease.EstateRoot, journal, strict: true);
            File.Delete(path);
            recovered.Add(new JournalRecovery(rel, journal.Id, journal.Pid, journal.Machine, journal.StartedUtc, restored) { RolledForward = forward });
        }
        return recovered;
    }

    /// <summary>
    /// The outcome of the receipt that names the journal's transaction, searched from the ledger's end back to receipts
    /// older than the journal; null when the ledger has none (the crash came before the receipt).
    /// </summary>
    private static string? RecordedOutcome(string receiptsFolder, Journal journal)
    {
        var ledger = Path.Combine(receiptsFolder, ReceiptStore.LedgerFileName);
        var oldest = new DateTimeOffset(DateTime.SpecifyKind(journal.StartedUtc, DateTimeKind.Utc)).AddMinutes(-10);
        foreach (var line in ReceiptStore.ReadLinesBackward(ledger))
        {
            try
            {
                using var doc = JsonDocument.Parse(line.Text);
                if (!doc.RootElement.TryGetProperty("receipt", out var receipt) || receipt.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }
                if (receipt.TryGetProperty("TransactionId", out var tx) && tx.ValueKind == JsonValueKind.String && tx.GetString() == journal.Id)
                {
                    return receipt.TryGetProperty("Outcome", out var o) ? o.GetString() : null;
                }
                if (receipt.TryGetProperty("EndedUtc", out var ended) && ended.TryGetDateTimeOffset(out var time) && time < oldest)
                {
                    return null;
                }
            }
            catch (JsonException)
            {
                // not a receipt line: Test-RelocationReceiptChain reports it
            }
        }
        return null;
    }

    /// <summary>Finishes a write whose receipt is in the ledger: every file gets the journaled new content.</summary>
    private static List<string> RollForward(string root, Journal journal)
    {
        var actions = new List<(JournalEntry Entry, string Full)>();
        foreach (var entry in journal.Files)
        {
            var full = new Estate.EstateBoundary(root).Resolve(entry.Path);
            var current = File.Exists(full) ? Digest.Sha256Hex(File.ReadAllBytes(full)) : null;
            if (current == entry.NewSha256)
            {
                continue;
            }
            if (current != entry.OriginalSha256)
            {
                throw new RelocationException("EstateJournalConflict", FailureKind.InvalidData,
                    $"A crashed transaction ({journal.Id}, pid {journal.Pid}, {journal.StartedUtc:yyyy-MM-ddTHH:mm:ssZ}) recorded its receipt, " +
                    $"but {entry.Path} has since been changed by someone else; resolve it by hand, then delete " +
                    $"{JournalFolder}/…{journal.Id}.json.", new SourceLocation(entry.Path, 1, 1), entry.Path);
            }
            actions.Add((entry, full));
        }
        foreach (var (entry, full) in actions)
        {
            AtomicFile.Write(full, Convert.FromBase64String(entry.NewBase64!));
        }
        return actions.Select(a => a.Entry.Path).ToList();
    }

    private static List<string> RestoreOriginals(string root, Journal journal, bool strict)
    {
        var actions = new List<(JournalEntry Entry, string Full)>();
        foreach (var entry in journal.Files)
        {
            var full = new Estate.EstateBoundary(root).Resolve(entry.Path);
            var current = File.Exists(full) ? Digest.Sha256Hex(File.ReadAllBytes(full)) : null;
            if (current == entry.OriginalSha256)
            {
                continue;
            }
            if (strict && current != entry.NewSha256)
            {
                throw new RelocationException("EstateJournalConflict", FailureKind.InvalidData,
                    $"A crashed transaction ({journal.Id}, pid {journal.Pid}, {journal.StartedUtc:yyyy-MM-ddTHH:mm:ssZ}) left its journal, " +
                    $"but {entry.Path} has since been changed by someone else; resolve it by hand, then delete " +
                    $"{JournalFolder}/…{journal.Id}.json.", new SourceLocation(entry.Path, 1, 1), entry.Path);
            }
            actions.Add((entry, full));
        }
        var restored = new List<string>();
        foreach (var (entry, full) in actions)
        {
            if (entry.OriginalBase64 is null)
            {
                File.Delete(full);
            }
            else
            {
                AtomicFile.Write(full, Convert.FromBase64String(entry.OriginalBase64));
            }
            restored.Add(entry.Path);
        }
        return restored;
    }

    private StagedFile GetOrLoad(string rel)
    {
        if (!_staged.TryGetValue(rel, out var staged))
        {
            var original = Inputs.Read(rel);
            staged = new StagedFile(rel, original) { NewBytes = original };
            _staged[rel] = staged;
            _order.Add(rel);
        }
        return staged;
    }

    public void Dispose()
    {
        // Nothing is written before Commit, so an uncommitted transaction needs no cleanup.
    }

    private sealed class StagedFile(string path, byte[]? original)
    {
        public string Path { get; } = path;
        public byte[]? Original { get; } = original;
        public byte[]? NewBytes { get; set; }
        public List<YamlEdit> Edits { get; set; } = [];
        /// <summary>The content a <see cref="Stage"/> gave the file, which later edits apply to (null: the original).</summary>
        public byte[]? Base { get; set; }
        public string Diff { get; set; } = string.Empty;
        public bool Changed => NewBytes is not null && (Original is null || !Original.AsSpan().SequenceEqual(NewBytes));
    }

    internal sealed record Journal(string Id, int Pid, string Machine, DateTime StartedUtc, List<JournalEntry> Files)
    {
        /// <summary>The ledger folder whose receipt decides recovery (null: a commit without a receipt, always rolled back).</summary>
        public string? ReceiptsFolder { get; init; }
    }

    internal sealed record JournalEntry(string Path, string? OriginalBase64, string? OriginalSha256, string NewSha256)
    {
        /// <summary>The new content, so recovery can finish a write whose receipt was recorded.</summary>
        public string? NewBase64 { get; init; }
    }
}
