using System.Globalization;
using System.Text;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;
using InfraRelocation.Core.Hashing;
using InfraRelocation.Core.Steps;
using System.Runtime.ExceptionServices;

namespace InfraRelocation.Core.Rollback;

/// <summary>What the executor needs besides the journal.</summary>
public sealed record RollbackContext
{
    public required EstateLayout Layout { get; init; }
    public required ReceiptStore Receipts { get; init; }
    /// <summary>Resolves host ids to SSH endpoints (ssh.targets).</summary>
    public required Func<string, SshEndpoint> Endpoint { get; init; }
    /// <summary>The operator confirmed the manual DNS/routing step (-RoutingConfirmed).</summary>
    public bool RoutingConfirmed { get; init; }
    /// <summary>Fills run id, actor, machine, times and input digests of a receipt (the cmdlet's run context).</summary>
    public required Func<RollbackReceipt, RollbackReceipt> Stamp { get; init; }
    public string RunId { get; init; } = "";
    public TimeSpan LeaseWait { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Called after every step (progress, verbose).</summary>
    public Action<JournalStep>? StepDone { get; init; }
}

/// <summary>The result of one run: the journal as it stands, the receipts recorded, and the step that failed (if any).</summary>
public sealed record RollbackRun(RollbackJournal Journal, RollbackReceipt? Receipt, JournalStep? Failed, bool Completed);

/// <summary>
/// Runs a service's rollback journal, step by step in the protocol's order, resuming at the first step that did not
/// finish. Remote steps go through the shared step runner (<see cref="BootstrapExecutor"/>: check, run, check); estate
/// steps use the estate transaction (revert) and the gates. The journal is saved after every step, so a failure, a
/// lost connection, Ctrl+C or a crash leaves it for the next run. The first failure stops the run: nothing later runs.
/// </summary>
public sealed class RollbackExecutor(SshSessionPool pool, RollbackContext context)
{
    public async Task<RollbackRun> RunAsync(RollbackJournal journal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journal);
        journal = journal with { Runs = [.. journal.Runs, context.RunId] };
        journal.Save(context.Layout);
        var bootstrap = new BootstrapExecutor(pool);
        RollbackReceipt? receipt = null;
        // The journal's unfinished steps on the shared runner. Each applies its journal step (the journal makes it run
        // once: the checks of the remote steps run inside it) and keeps what came of it here, by order, for Finished.
        var pending = journal.Steps.Where(s => !s.Finished).ToList();
        var ended = new Dictionary<int, JournalStep>();
        var steps = pending.Select(planned => new Step(planned.Name)
        {
            Apply = async ct =>
            {
                JournalStep step;
                if (planned.Remote)
                {
                    step = await Remote(bootstrap, planned, ct).ConfigureAwait(false);
                }
                else
                {
                    (step, var recorded, journal) = planned.Name switch
                    {
                        "route" => (ManualRoute(planned, journal), null, journal),
                        "revert" => Revert(planned, journal, ct),
                        "gates" => (Gates(planned, journal, ct), null, journal),
                        "document" => Document(planned, journal, ct),
                        _ => throw new InvalidOperationException($"Unknown rollback step {planned.Name}."),
                    };
                    receipt = recorded ?? receipt;
                }
                ended[planned.Order] = step;
                return step.Finished ? Applied.Ok(step.Evidence) : Applied.Fail(step.Evidence);
            },
        }).ToList();
        var started = new Dictionary<Step, DateTimeOffset>();
        JournalStep? failed = null;
        var runner = new StepRunner
        {
            // The journal shows the step started before it does anything: a run killed inside it leaves that trace.
            Starting = s =>
            {
                var planned = pending[steps.IndexOf(s)];
                started[s] = DateTimeOffset.UtcNow;
                journal = journal.With(planned with { State = BootstrapStepState.Planned, StartedUtc = started[s], EndedUtc = null });
                journal.Save(context.Layout);
            },
            Finished = r =>
            {
                // NotRun (after a failure) leaves the journal as it was; a step that threw is a bug, rethrown below.
                if (r.Error is not null || !ended.TryGetValue(pending[r.Order - 1].Order, out var result)) return;
                var step = result with { StartedUtc = started[steps[r.Order - 1]], EndedUtc = DateTimeOffset.UtcNow };
                journal = journal.With(step);
                if (step.Name == "document" && step.Finished)
                {
                    journal.Delete(context.Layout); // the incident record and its receipt are written: the rollback is over
                }
                else
                {
                    journal.Save(context.Layout);
                }
                context.StepDone?.Invoke(step);
                failed ??= step.Finished ? null : step;
            },
        };
        var records = await runner.RunAsync(steps, cancellationToken).ConfigureAwait(false);
        if (records.FirstOrDefault(r => r.Error is not null) is { Error: { } error })
        {
            ExceptionDispatchInfo.Throw(error);
        }
        return new RollbackRun(journal, receipt, failed, failed is null);
    }

    private async Task<JournalStep> Remote(BootstrapExecutor runner, JournalStep planned, CancellationToken ct)
    {
        SshEndpoint endpoint;
        try
        {
            endpoint = context.Endpoint(planned.Host!);
        }
        catch (RelocationException ex)
        {
            return planned with { State = BootstrapStepState.Failed, Evidence = $"{ex.ErrorId}: {ex.Message}" };
        }
        var step = new BootstrapStep(planned.Name, planned.Check ?? "", planned.Run);
        var result = (await runner.RunAsync(endpoint, planned.Host!, [step], null, cancellationToken: ct).ConfigureAwait(false))[0];
        var evidence = result.State == BootstrapStepState.Failed && planned.Name == "reach"
            ? $"the rollback target {planned.Host} cannot be reached, so the service was not stopped anywhere: {result.Evidence}"
            : result.Evidence;
        return planned with { State = result.State, Evidence = $"{endpoint}: {evidence}" };
    }

    private JournalStep ManualRoute(JournalStep planned, RollbackJournal journal) => context.RoutingConfirmed
        ? planned with { State = BootstrapStepState.Done, Evidence = $"manual step: {journal.Actor} confirmed DNS/routing points at {journal.RollbackTo} (-RoutingConfirmed)" }
        : planned with
        {
            State = BootstrapStepState.Failed,
            Evidence = $"manual step not confirmed: point DNS and routing for {journal.Service} at {journal.RollbackTo}, then run again with -RoutingConfirmed (the rollback resumes here).",
        };

    /// <summary>Writes every value back as one transaction (the mutation guard judges it; the receipt is inside it).</summary>
    private (JournalStep, RollbackReceipt?, RollbackJournal) Revert(JournalStep planned, RollbackJournal journal, CancellationToken ct)
    {
        var root = context.Layout.Root;
        var boundary = new EstateBoundary(root);
        try
        {
            // A revert killed inside its commit left a transaction journal: undo (or finish) it before judging the values.
            using var lease = EstateLease.Acquire(root, $"Invoke-RelocationRollback {journal.Service}", context.LeaseWait, ct);
            EstateTransaction.Recover(lease);
        }
        catch (RelocationException ex)
        {
            return (planned with { State = BootstrapStepState.Failed, Evidence = $"{ex.ErrorId}: {ex.Message} Nothing was written." }, null, journal);
        }
        if (journal.Reverts.All(r => HasValue(boundary, r)))
        {
            var identity = ByteIdentity(boundary, journal);
            return (planned with { State = BootstrapStepState.Unchanged, Evidence = "every value already holds its value before the move" }, null, journal with { ByteIdentity = identity });
        }
        var plan = RevertPlan(journal);
        RollbackReceipt? recorded = null;
        TransitionRun run;
        try
        {
            run = TransitionExecutor.Commit(context.Layout, plan, _ => plan, new TransitionCommitOptions
            {
                Purpose = $"Invoke-RelocationRollback {journal.Service}",
                LeaseWait = context.LeaseWait,
                Receipts = context.Receipts,
                Receipt = r => recorded = context.Stamp(Receipt(journal, r.Outcome is { Files.Count: > 0 } ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged,
                    $"Rollback of {journal.Service}: reverted {r.Changes.Count} SSOT value(s)") with
                {
                    Changes = r.Changes, Diff = r.Diff, Findings = r.Plan.Findings, Overrides = r.Plan.Overrides, OverrideReason = r.Plan.OverrideReason,
                    Files = r.Outcome?.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList() ?? [],
                    TransactionId = r.Outcome?.TransactionId,
                }),
                Guard = new TransitionGuard { ForceReason = journal.ForceReason, Ledger = LedgerView.Load(context.Receipts.LedgerPath) },
            }, ct);
        }
        catch (RelocationException ex)
        {
            return (planned with { State = BootstrapStepState.Failed, Evidence = $"{ex.ErrorId}: {ex.Message} Nothing was written." }, null, journal);
        }
        if (run.Plan.Blocked)
        {
            var errors = run.Plan.Findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
            return (planned with
            {
                State = BootstrapStepState.Failed,
                Evidence = $"the mutation guard refused the revert; nothing was written: {string.Join("; ", errors.Select(f => f.ToString()))}. Fix them, or repeat with -Force -Reason.",
            }, null, journal);
        }
        var bytes = ByteIdentity(boundary, journal);
        var files = run.Outcome?.Files.Count ?? 0;
        return (planned with { State = BootstrapStepState.Done, Evidence = $"transaction {run.Outcome?.TransactionId}: {run.Changes.Count} value(s) in {files} file(s) written back; {string.Join("; ", bytes)}" },
            recorded, journal with { ByteIdentity = bytes });
    }

    /// <summary>The revert as a transition plan (the scalar edits, each expecting the value the move wrote).</summary>
    public static TransitionPlan RevertPlan(RollbackJournal journal) => new()
    {
        Subject = journal.Service, ChangeId = journal.ChangeId, Before = journal.StatusAtStart, After = journal.StatusBeforeMove,
        Edits = journal.Reverts.Select(r => new PlannedEdit(r.File, r.ToYamlEdit())).ToList(),
        Summary = $"Rollback of {journal.Service}: write back {journal.Reverts.Count} SSOT value(s) from before the move",
    };

    /// <summary>Every value of the revert holds its value before the move (the revert step ran, or is not needed).</summary>
    public static bool RevertWritten(string root, RollbackJournal journal)
    {
        ArgumentNullException.ThrowIfNull(journal);
        var boundary = new EstateBoundary(root);
        return journal.Reverts.All(r => HasValue(boundary, r));
    }

    private static bool HasValue(EstateBoundary boundary, RevertEdit edit)
    {
        var full = boundary.Resolve(edit.File);
        return File.Exists(full) && string.Equals(YamlScalarEditor.ReadScalar(File.ReadAllBytes(full), edit.Path, edit.File), edit.Value, StringComparison.Ordinal);
    }

    /// <summary>Per reverted file: identical to its bytes before the move (SHA-256 from the move's receipts), or why it cannot be said.</summary>
    public static IReadOnlyList<string> ByteIdentity(EstateBoundary boundary, RollbackJournal journal) =>
        journal.Reverts.Select(r => r.File).Distinct(StringComparer.Ordinal).Select(file =>
        {
            var full = boundary.Resolve(file);
            var bytes = File.Exists(full) ? File.ReadAllBytes(full) : null;
            var now = bytes is null ? null : Digest.Sha256Hex(bytes);
            // Every change (this rollback's too) writes the ledger's head into the manifest's ledger_anchor line: without it.
            var unanchored = bytes is null ? null : Digest.Sha256Hex(WithoutAnchor(bytes));
            return journal.DigestsBefore.TryGetValue(file, out var before) && before is not null
                ? now == before ? $"{file}: byte-identical to before the move (sha256 {before[..12]})"
                : unanchored == before ? $"{file}: byte-identical to before the move apart from its ledger_anchor line, which every change rewrites (sha256 {before[..12]})"
                : $"{file}: differs from before the move (sha256 {now?[..12]} vs {before[..12]}): a value no receipt of the move recorded changed"
                : $"{file}: values written back (no receipt of the move wrote this file, so no digest before it to compare)";
        }).ToList();

    /// <summary>The bytes without the top-level <c>ledger_anchor:</c> line.</summary>
    private static byte[] WithoutAnchor(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var key = LedgerAnchor.ManifestKey + ":";
        var at = text.StartsWith(key, StringComparison.Ordinal) ? 0 : text.IndexOf("\n" + key, StringComparison.Ordinal) is var i and >= 0 ? i + 1 : -1;
        if (at < 0)
        {
            return bytes;
        }
        var end = text.IndexOf('\n', at);
        return Encoding.UTF8.GetBytes(text[..at] + (end < 0 ? "" : text[(end + 1)..]));
    }

    /// <summary>D35 and D37 on the estate as written, read under the lease (never a transaction's half-written files).</summary>
    private JournalStep Gates(JournalStep planned, RollbackJournal journal, CancellationToken ct)
    {
        EstateSnapshot estate;
        try
        {
            using var lease = EstateLease.Acquire(context.Layout.Root, $"Invoke-RelocationRollback {journal.Service} (gates)", context.LeaseWait, ct);
            EstateTransaction.Recover(lease);
            estate = EstateLoader.Load(context.Layout);
        }
        catch (RelocationException ex)
        {
            return planned with { State = BootstrapStepState.Failed, Evidence = $"{ex.ErrorId}: {ex.Message}" };
        }
        var options = new GateOptions { Now = DateTimeOffset.UtcNow };
        var results = new[] { GateRunner.Evaluate(estate, GateIds.Parity, options), GateRunner.Evaluate(estate, GateIds.Placement, options) };
        var errors = results.SelectMany(r => r.Findings).Where(f => f.Severity == FindingSeverity.Error).ToList();
        var summary = string.Join(", ", results.Select(r => $"{r.GateId} {(r.Passed ? "passed" : "FAILED")} ({r.Summary})"));
        return errors.Count == 0
            ? planned with { State = BootstrapStepState.Done, Evidence = summary }
            : planned with
            {
                State = BootstrapStepState.Failed,
                Evidence = $"{summary}: {string.Join("; ", errors.Take(5).Select(f => f.ToString()))}{(errors.Count > 5 ? $"; and {errors.Count - 5} more" : "")}. Fix them (Invoke-RelocationParity lists them), then run again: the rollback resumes here.",
            };
    }

    /// <summary>Writes the incident record and the final receipt in one transaction.</summary>
    private (JournalStep, RollbackReceipt?, RollbackJournal) Document(JournalStep planned, RollbackJournal journal, CancellationToken ct)
    {
        var boundary = new EstateBoundary(context.Layout.Root);
        var done = planned with { State = BootstrapStepState.Done, Evidence = $"incident record {journal.IncidentPath}",
            StartedUtc = journal.Steps.First(s => s.Order == planned.Order).StartedUtc, EndedUtc = DateTimeOffset.UtcNow };
        var final = journal.With(done);
        RollbackReceipt? recorded = null;
        try
        {
            using var lease = EstateLease.Acquire(context.Layout.Root, $"Invoke-RelocationRollback {journal.Service}", context.LeaseWait, ct);
            // Begin undoes (or finishes) a document step killed inside its commit, so the record is judged after that.
            using var tx = EstateTransaction.Begin(lease);
            if (File.Exists(boundary.Resolve(journal.IncidentPath)))
            {
                return (planned with { State = BootstrapStepState.Unchanged, Evidence = $"{journal.IncidentPath} is written" }, null, journal);
            }
            tx.Stage(journal.IncidentPath, Encoding.UTF8.GetBytes(IncidentRecord.Render(final)));
            tx.Commit(new CommitReceipt
            {
                Store = context.Receipts,
                Build = (outcome, _) => recorded = context.Stamp(Receipt(final, ReceiptOutcome.Succeeded,
                    $"Rolled back {journal.Service} from {journal.NewHost} to {journal.RollbackTo}; incident record {journal.IncidentPath}") with
                {
                    IncidentRecord = journal.IncidentPath,
                    Files = outcome.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList(),
                    TransactionId = outcome.TransactionId,
                }),
            });
        }
        catch (RelocationException ex)
        {
            return (planned with { State = BootstrapStepState.Failed, Evidence = $"{ex.ErrorId}: {ex.Message}" }, null, journal);
        }
        return (done, recorded, final);
    }

    /// <summary>A rollback receipt of the journal as it stands (its steps as records).</summary>
    public static RollbackReceipt Receipt(RollbackJournal journal, ReceiptOutcome outcome, string summary) => new()
    {
        Capability = MoveRecord.RollbackCapability, Command = "Invoke-RelocationRollback", Mode = outcome == ReceiptOutcome.Previewed ? RunMode.Preview : RunMode.Execute,
        Outcome = outcome, Summary = summary, ChangeId = journal.ChangeId, Subject = journal.Service, Service = journal.Service,
        Before = journal.StatusAtStart, After = journal.StatusBeforeMove, NewHost = journal.NewHost, RollbackTo = journal.RollbackTo,
        Why = journal.Why, OverrideReason = journal.ForceReason, Steps = Records(journal), ByteIdentity = journal.ByteIdentity,
        Resumed = journal.Runs.Count > 1, Journal = RollbackJournal.RelativePath(journal.Service),
    };

    public static IReadOnlyList<RollbackStepRecord> Records(RollbackJournal journal) => journal.Steps.Select(s => new RollbackStepRecord
    {
        Order = s.Order, Step = s.Name, Kind = s.Kind, Host = s.Host, CheckCommand = string.IsNullOrEmpty(s.Check) ? null : s.Check, RunCommand = s.Run,
        State = s.State, Evidence = s.Evidence, StartedUtc = s.StartedUtc, EndedUtc = s.EndedUtc,
    }).ToList();
}

/// <summary>The incident record (protocol step 7): timeline, who, why, each step's evidence, what was reverted.</summary>
public static class IncidentRecord
{
    public static string Render(RollbackJournal j)
    {
        static string T(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";
        static string Cell(string? s) => (s ?? "").Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"# Incident: rollback of {j.Service} ({j.ChangeId ?? "no change id"})\n\n");
        b.Append(CultureInfo.InvariantCulture, $"- Who: {j.Actor}\n- Why: {j.Why}\n");
        b.Append(CultureInfo.InvariantCulture, $"- Service: {j.Service}, status {j.StatusAtStart} -> {j.StatusBeforeMove ?? "(unchanged)"}\n");
        b.Append(CultureInfo.InvariantCulture, $"- Moved to: {j.NewHost ?? "(none)"}; rolled back to: {j.RollbackTo}\n");
        b.Append(CultureInfo.InvariantCulture, $"- Started: {T(j.StartedUtc)}; finished: {T(j.Steps.LastOrDefault()?.EndedUtc)}; runs: {string.Join(", ", j.Runs)}\n");
        if (j.ForceReason is not null)
        {
            b.Append(CultureInfo.InvariantCulture, $"- Forced (-Force): {j.ForceReason}\n");
        }
        b.Append(CultureInfo.InvariantCulture, $"- Move receipts reverted: {string.Join(", ", j.MoveRuns)}\n\n");
        b.Append("## Timeline\n\n| # | Step | Host | State | Started | Ended | Command | Evidence |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var s in j.Steps)
        {
            b.Append(CultureInfo.InvariantCulture, $"| {s.Order} | {s.Name} | {s.Host ?? "estate"} | {s.State} | {T(s.StartedUtc)} | {T(s.EndedUtc)} | {Cell(s.Remote ? s.Run ?? s.Check : s.Run)} | {Cell(s.Evidence)} |\n");
        }
        b.Append("\n## SSOT values written back\n\n");
        foreach (var r in j.Reverts)
        {
            b.Append(CultureInfo.InvariantCulture, $"- {r.File} `{r.Path}`: {r.Expected ?? "(none)"} -> {r.Value ?? "(none)"} (from {r.Source})\n");
        }
        b.Append("\n## Byte identity\n\n");
        foreach (var line in j.ByteIdentity)
        {
            b.Append(CultureInfo.InvariantCulture, $"- {line}\n");
        }
        if (j.Notes.Count > 0)
        {
            b.Append("\n## Notes\n\n");
            foreach (var n in j.Notes)
            {
                b.Append(CultureInfo.InvariantCulture, $"- {n}\n");
            }
        }
        return b.ToString();
    }
}
