using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Transitions;

/// <summary>What a transition run decided, staged and (for a commit) wrote.</summary>
public sealed record TransitionRun
{
    public required TransitionPlan Plan { get; init; }
    /// <summary>Unified diff of the staged edits (what -WhatIf shows; what a commit wrote).</summary>
    public string Diff { get; init; } = "";
    public IReadOnlyList<ValueChange> Changes { get; init; } = [];
    /// <summary>SHA-256 of every file the decision read (null entries = file absent are left out).</summary>
    public IReadOnlyDictionary<string, string> InputDigests { get; init; } = new Dictionary<string, string>();
    /// <summary>Null unless committed.</summary>
    public TransactionOutcome? Outcome { get; init; }
    public IReadOnlyList<LeaseTakeover> Takeovers { get; init; } = [];
    public IReadOnlyList<JournalRecovery> Recovered { get; init; } = [];
    /// <summary>Journals of crashed runs a preview found (the next commit rolls them back first).</summary>
    public IReadOnlyList<string> PendingJournals { get; init; } = [];
    /// <summary>Set when a post-commit check failed and the commit was reverted.</summary>
    public string? RevertReason { get; init; }
    public TransactionOutcome? RevertOutcome { get; init; }
    /// <summary>The receipt recorded in the commit's transaction (set when <see cref="TransitionCommitOptions.Receipts"/> was given and files changed).</summary>
    public RelocationReceipt? Receipt { get; init; }

    public bool Committed => Outcome is { Files.Count: > 0 };
    public bool Reverted => RevertReason is not null;
}

/// <summary>Options of <see cref="TransitionExecutor.Commit"/>.</summary>
public sealed record TransitionCommitOptions
{
    /// <summary>Written into the lease (who holds the estate and why).</summary>
    public string Purpose { get; init; } = "transition";
    /// <summary>How long to wait for a busy lease.</summary>
    public TimeSpan LeaseWait { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan? LeaseStaleAfter { get; init; }
    /// <summary>
    /// Runs after the commit, still under the lease, on the estate as written; returns null to keep the change, or
    /// a reason to revert it (the original bytes are restored by a second journaled transaction).
    /// </summary>
    public Func<EstateSnapshot, string?>? AfterCommit { get; init; }
    /// <summary>
    /// When set, <c>active_relocation.updated_at</c> is stamped with this time instead of the preview's (the operator
    /// may have looked at a -Confirm prompt for a while); null keeps the planned value.
    /// </summary>
    public DateTimeOffset? Now { get; init; }
    /// <summary>
    /// The ledger that records the commit's receipt inside the transaction (with <see cref="Receipt"/>): checked writable
    /// before anything is written, appended before the journal is deleted (see <see cref="EstateTransaction.Commit(CommitReceipt)"/>).
    /// </summary>
    public ReceiptStore? Receipts { get; init; }
    /// <summary>Builds the receipt of a committed run (Outcome and, when reverted, RevertReason set).</summary>
    public Func<TransitionRun, RelocationReceipt>? Receipt { get; init; }
    /// <summary>The mutation guard's settings for the commit (the same as the preview's).</summary>
    public TransitionGuard Guard { get; init; } = new();
}

/// <summary>How the mutation guard judges a transition (see docs/design/mutation-guard.md).</summary>
public sealed record TransitionGuard
{
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;
    /// <summary>-Force -Reason: go ahead past D35/D37/identity errors, recording them and this reason. Never past schema errors.</summary>
    public string? ForceReason { get; init; }
    /// <summary>The receipt ledger: hand edits of controlled fields (what the last receipts set) block too.</summary>
    public LedgerView? Ledger { get; init; }
}

/// <summary>
/// Runs a transition over the transaction primitives: the decision is made on files read through the transaction
/// (so their digests are checked again at commit), edits carry the values the previewed decision was based on, and a
/// commit either writes every file or none (see docs/design/transactions.md).
/// </summary>
public static class TransitionExecutor
{
    /// <summary>
    /// Decides and stages without the lease; writes nothing (-WhatIf, and the preview a -Confirm prompt shows).
    /// <paramref name="editing"/>: the files the plan may edit besides the manifest (every transition's is stamped), so
    /// the loader keeps their trees for the editor (see <see cref="LocatedTrees.Editing"/>).
    /// </summary>
    public static TransitionRun Preview(EstateLayout layout, Func<EstateSnapshot, TransitionPlan> plan, TransitionGuard? guard = null,
        IEnumerable<string>? editing = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(plan);
        using var tx = EstateTransaction.Preview(layout.Root);
        var (estate, _) = LoadThrough(tx, layout, editing ?? []);
        var decided = plan(estate);
        var run = Stage(tx, decided, decided.Blocked ? [] : decided.Edits, decided.Blocked ? [] : decided.Rewrites);
        run = run with { Plan = Guard(tx, estate, decided, guard ?? new TransitionGuard()) };
        return run with { PendingJournals = EstateTransaction.PendingJournals(layout.Root) };
    }

    /// <summary>True when <paramref name="ex"/> says the estate could not be read (bad input: no receipt is written).</summary>
    public static bool IsUnreadableEstate(RelocationException ex) => MutationGuard.IsUnreadableEstate(ex);

    /// <summary>
    /// The mutation guard on the staged change (a plan its own guards already block is left as it is): SCHEMA, D35,
    /// D37 and identity on the estate the staged bytes describe. An estate whose files already break the schema is
    /// bad input (<c>EstateSchemaInvalid</c>, no receipt); a forced run keeps the findings as overridden warnings.
    /// </summary>
    private static TransitionPlan Guard(EstateTransaction tx, EstateSnapshot before, TransitionPlan plan, TransitionGuard guard)
    {
        if (plan.Blocked || plan.NoOp)
        {
            return plan;
        }
        var changed = tx.ChangedFiles.ToDictionary(p => p, p => tx.Read(p)!, StringComparer.Ordinal);
        var verdict = MutationGuard.Evaluate(before, changed, guard.Now, guard.Ledger, tx.Trees);
        if (verdict.Passed)
        {
            return verdict.OnlyRemovesErrors
                ? plan with
                {
                    Guard = verdict,
                    Findings = [.. plan.Findings, RelocationFinding.Warning("GUARD.OnlyRemovesErrors",
                        $"Allowed although {verdict.ErrorsAfter.Count} gate error(s) remain: the change only removes errors ({verdict.ErrorsBefore.Count} before it).",
                        verdict.ErrorsAfter[0].Location, subject: plan.Subject)],
                }
                : plan with { Guard = verdict };
        }
        if (verdict.ErrorsBefore.Any(MutationGuard.IsSchema))
        {
            throw MutationGuard.Refusal(verdict, plan.Summary, canForce: false)!;
        }
        if (guard.ForceReason is { } reason && !verdict.SchemaBlocks)
        {
            var rules = string.Join(", ", verdict.Blocking.Select(f => f.RuleId).Distinct(StringComparer.Ordinal));
            return plan with
            {
                Guard = verdict,
                OverrideReason = reason,
                Findings = [.. plan.Findings, .. verdict.Blocking.Select(f => f with { Severity = FindingSeverity.Warning, Message = $"Overridden (-Force): {f.Message}" })],
                Overrides = [.. plan.Overrides, $"Forced past {verdict.Blocking.Count} gate error(s) ({rules}) on the estate after the change; reason: {reason}"],
            };
        }
        return plan with { Guard = verdict, Findings = [.. plan.Findings, .. verdict.Blocking] };
    }

    /// <summary>
    /// Takes the lease, rolls back crashed journals, re-reads the estate and re-runs the guards (<paramref name="replan"/>),
    /// then applies <paramref name="approved"/>'s edits (their <c>expected:</c> values are what the operator previewed:
    /// if another writer changed them, <c>EstateValueChanged</c> and nothing is written) and commits. A blocked re-plan
    /// is returned uncommitted.
    /// </summary>
    public static TransitionRun Commit(EstateLayout layout, TransitionPlan approved, Func<EstateSnapshot, TransitionPlan> replan,
        TransitionCommitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(approved);
        ArgumentNullException.ThrowIfNull(replan);
        options ??= new TransitionCommitOptions();
        using var lease = EstateLease.Acquire(layout.Root, options.Purpose, options.LeaseWait, cancellationToken, options.LeaseStaleAfter);
        using var tx = EstateTransaction.Begin(lease);
        var (estate, originals) = LoadThrough(tx, layout, approved.Edits.Select(e => e.File));
        var fresh = replan(estate);
        if (fresh.Blocked)
        {
            return Stage(tx, fresh, []) with { Takeovers = lease.Takeovers, Recovered = tx.Recovered };
        }
        var edits = options.Now is { } now
            ? approved.Edits.Select(e => e.Edit.Path == TransitionPlanner.UpdatedAtPath ? e with { Edit = e.Edit with { Value = TransitionPlanner.Timestamp(now) } } : e).ToList()
            : approved.Edits;
        var run = Stage(tx, approved, edits, approved.Rewrites) with { Takeovers = lease.Takeovers, Recovered = tx.Recovered };
        var judged = Guard(tx, estate, fresh, options.Guard with { Now = options.Now ?? options.Guard.Now });
        if (judged.Blocked)
        {
            return run with { Plan = judged, Diff = "", Changes = [] };
        }
        if (tx.ChangedFiles.Count == 0)
        {
            return run with { Outcome = new TransactionOutcome("", []) };
        }
        if (options.Receipts is { } store && options.Receipt is { } build)
        {
            var committed = run;
            var recorded = tx.Commit(new CommitReceipt
            {
                Store = store,
                Verify = options.AfterCommit is null ? null : _ => Check(options.AfterCommit, layout, tx.Trees),
                Build = (o, reason) => build(committed with { Outcome = o, RevertReason = reason }),
                AnchorIn = layout.RelativePath(EstateFile.Manifest).Replace('\\', '/'),
            });
            return run with { Outcome = recorded.Outcome, RevertReason = recorded.RevertReason, Receipt = recorded.Receipt };
        }
        var outcome = tx.Commit();
        run = run with { Outcome = outcome };
        if (options.AfterCommit is null)
        {
            return run;
        }
        string? reason;
        try
        {
            reason = options.AfterCommit(EstateLoader.Load(layout, tx.Trees));
        }
        catch (RelocationException ex)
        {
            reason = $"the estate could not be read after the write ({ex.ErrorId}: {ex.Message})";
        }
        if (reason is null)
        {
            return run;
        }
        return run with { RevertReason = reason, RevertOutcome = Revert(lease, outcome, originals) };
    }

    private static string? Check(Func<EstateSnapshot, string?> check, EstateLayout layout, LocatedTrees trees)
    {
        try
        {
            return check(EstateLoader.Load(layout, trees));
        }
        catch (RelocationException ex)
        {
            return $"the estate could not be read after the write ({ex.ErrorId}: {ex.Message})";
        }
    }

    /// <summary>Restores the original bytes of every file <paramref name="outcome"/> wrote, as one journaled transaction.</summary>
    private static TransactionOutcome Revert(EstateLease lease, TransactionOutcome outcome, IReadOnlyDictionary<string, byte[]?> originals)
    {
        using var undo = EstateTransaction.Begin(lease);
        foreach (var file in outcome.Files)
        {
            var now = undo.Read(file.Path);
            var digest = now is null ? null : Digest.Sha256Hex(now);
            if (digest != file.NewSha256)
            {
                throw new RelocationException("TransitionRevertConflict", FailureKind.WriteError,
                    $"{file.Path} changed after the transition wrote it; it was not reverted. Restore it by hand (its original SHA-256 is {file.OldSha256}).",
                    new SourceLocation(file.Path, 1, 1), file.Path);
            }
            if (originals.TryGetValue(file.Path, out var original) && original is not null)
            {
                undo.Stage(file.Path, original);
            }
        }
        return undo.Commit();
    }

    /// <summary>
    /// Reads every estate file through the transaction (digested, checked again at commit) and loads the estate. The
    /// manifest and <paramref name="editing"/> are parsed once for the loader and the editor (their trees stay with the
    /// stage); every other file's tree is let go as the loader goes.
    /// </summary>
    private static (EstateSnapshot Estate, IReadOnlyDictionary<string, byte[]?> Originals) LoadThrough(EstateTransaction tx, EstateLayout layout,
        IEnumerable<string> editing)
    {
        tx.Trees.Editing(editing.Append(layout.RelativePath(EstateFile.Manifest)));
        var originals = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var relative in Enum.GetValues<EstateFile>().Select(layout.RelativePath).Append(EstateLayout.ConfigFile).Distinct())
        {
            if (Directory.Exists(Path.Combine(layout.Root, relative)))
            {
                continue; // the loader reports a folder where a file belongs
            }
            originals[relative.Replace('\\', '/')] = tx.Read(relative);
        }
        EstateSnapshot estate;
        try
        {
            estate = EstateLoader.Load(layout, tx.Trees);
        }
        catch (RelocationException ex)
        {
            MutationGuard.MarkUnreadable(ex);
            throw;
        }
        foreach (var (path, digest) in estate.InputDigests)
        {
            if (tx.Inputs.Digests.TryGetValue(path, out var read) && read != digest)
            {
                throw new RelocationException("EstateFileChanged", FailureKind.InvalidOperation,
                    $"{path} changed while it was being read; nothing was written. Re-run to re-evaluate.", new SourceLocation(path, 1, 1), path);
            }
        }
        return (estate, originals);
    }

    private static TransitionRun Stage(EstateTransaction tx, TransitionPlan plan, IReadOnlyList<PlannedEdit> edits, IReadOnlyList<PlannedRewrite>? rewrites = null)
    {
        var changes = new List<ValueChange>();
        rewrites ??= [];
        foreach (var rewrite in rewrites)
        {
            var current = tx.Read(rewrite.File);
            if (current is null || Digest.Sha256Hex(current) != rewrite.OriginalSha256)
            {
                throw new RelocationException("EstateValueChanged", FailureKind.InvalidOperation,
                    $"{rewrite.File} changed after the change was planned; nothing was written. Re-run to re-evaluate.",
                    new SourceLocation(rewrite.File, 1, 1), rewrite.File);
            }
            tx.Stage(rewrite.File, rewrite.Content);
            changes.Add(new ValueChange { File = rewrite.File, Path = TransitionPlanner.StatePath, Before = plan.Before, After = plan.After });
        }
        foreach (var group in edits.GroupBy(e => e.File, StringComparer.Ordinal))
        {
            var list = group.Select(e => e.Edit).ToList();
            var result = tx.EditYaml(group.Key, list);
            // OldValues are for every edit of the file so far (cumulative); the last list.Count belong to this call.
            var old = result.OldValues.Skip(result.OldValues.Count - list.Count).ToList();
            for (var i = 0; i < list.Count; i++)
            {
                var after = list[i].Kind == YamlValueKind.Null ? null : list[i].Value;
                if (!string.Equals(old[i], after, StringComparison.Ordinal))
                {
                    changes.Add(new ValueChange { File = group.Key, Path = list[i].Path, Before = old[i], After = after });
                }
            }
        }
        var digests = tx.Inputs.Digests.Where(d => d.Value is not null).ToDictionary(d => d.Key, d => d.Value!, StringComparer.Ordinal);
        // A block edit's own diff (the transaction only knows the file was rewritten); lifecycle plans have no scalar edits.
        var diff = rewrites.Count == 0 ? tx.Diff : string.Concat(rewrites.Select(r => r.Diff));
        return new TransitionRun { Plan = plan, Diff = diff, Changes = changes, InputDigests = digests };
    }
}
