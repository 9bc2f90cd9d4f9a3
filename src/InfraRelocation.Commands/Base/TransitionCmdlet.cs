using System.Management.Automation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Base of the mutating transition cmdlets. One transition = preview (guards run for real on the current files,
/// the exact diff is staged) → optional extra gate (promotion probes) → ShouldProcess showing the diff (-WhatIf stops
/// here and writes a Preview receipt, nothing else) → commit under the estate lease (guards re-run on re-read files,
/// edits expect the previewed values, digests re-checked, journaled atomic multi-file write) → receipt.
/// Every path (blocked, previewed, unchanged, failed, succeeded, reverted) appends a receipt to the ledger, except
/// an estate file that cannot be parsed: that is bad input, which stops before any decision and changes nothing on disk.
/// </summary>
public abstract class TransitionCmdlet : EstateCmdlet
{
    /// <summary>Seconds to wait for the estate lease when another transition holds it.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int LeaseTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Go ahead although the mutation guard (D35, D37, identity on the estate after the change) or a cmdlet's own
    /// overridable guard refuses; needs -Reason. The findings, the override and the reason go into the receipt.
    /// Schema errors are never overridden.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Why -Force is used (recorded in the receipt; required with -Force).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Reason { get; set; }

    protected abstract string Capability { get; }

    /// <summary>Refuses -Force without -Reason (and -Reason without -Force) before anything is read.</summary>
    private void ValidateOverride()
    {
        if (Force && string.IsNullOrWhiteSpace(Reason))
        {
            Fail("ForceNeedsReason", FailureKind.InvalidArgument,
                "-Force overrides a guard and needs -Reason '<why>', which is recorded in the receipt.", "Force");
        }
        if (!Force && Reason is not null)
        {
            Fail("ReasonNeedsForce", FailureKind.InvalidArgument, "-Reason explains an override; it is only used with -Force.", Reason);
        }
    }

    /// <summary>
    /// True (default) when a refused or failed transition stops the command; false for cmdlets that take many items
    /// from the pipeline, where one refused item is a non-terminating error and the next item still runs
    /// (use -ErrorAction Stop to stop at the first).
    /// </summary>
    protected virtual bool StopOnItemError => true;

    private void Stop(RelocationException ex)
    {
        if (StopOnItemError)
        {
            Fail(ex);
        }
        else
        {
            WriteRelocationError(ex);
        }
    }

    /// <summary>What one previewed item is: "service", "VM target"; the plan summary counts them.</summary>
    protected virtual string PlanNoun => "change";

    // Every item previewed (-WhatIf, or declined at -Confirm) in this command: the status it would get, the files it would change.
    private readonly List<(string After, IEnumerable<string> Files)> _previews = [];

    /// <summary>
    /// After several previewed items, one line that sums up the plan, e.g. "Plan: 3 services to cutover, 2 files change".
    /// </summary>
    protected override void EndProcessing()
    {
        base.EndProcessing();
        if (_previews.Count < 2)
        {
            return;
        }
        var targets = _previews.GroupBy(p => p.After).Select(g => $"{g.Count()} {Plural(PlanNoun, g.Count())} to {g.Key}");
        var files = _previews.SelectMany(p => p.Files).Distinct(StringComparer.Ordinal).Count();
        WriteInformation(new HostInformationMessage { Message = $"Plan: {string.Join(", ", targets)}, {files} {Plural("file", files)} change" }, ["PSHOST"]);
    }

    private static string Plural(string noun, int count) => count == 1 ? noun : noun + "s";

    /// <summary>
    /// The unified diff with removed lines red and added lines green through the session's $PSStyle, plain when
    /// $PSStyle renders plain text, NO_COLOR is set or the host's output is redirected.
    /// </summary>
    private string ColourDiff(string diff)
    {
        if (diff.Length == 0 || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 } || Console.IsOutputRedirected)
        {
            return diff;
        }
        var style = GetVariableValue("PSStyle") is { } value ? PSObject.AsPSObject(value) : null;
        if (style is null || string.Equals(style.Properties["OutputRendering"]?.Value?.ToString(), "PlainText", StringComparison.OrdinalIgnoreCase))
        {
            return diff;
        }
        var foreground = style.Properties["Foreground"]?.Value is { } fg ? PSObject.AsPSObject(fg) : null;
        var red = foreground?.Properties["Red"]?.Value as string ?? "";
        var green = foreground?.Properties["Green"]?.Value as string ?? "";
        var reset = style.Properties["Reset"]?.Value as string ?? "";
        return string.Join('\n', diff.Split('\n').Select(line =>
            line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("+++", StringComparison.Ordinal) ? line
            : line.StartsWith('-') ? red + line + reset
            : line.StartsWith('+') ? green + line + reset
            : line));
    }

    /// <summary>A blocking result of an extra gate run between preview and confirmation.</summary>
    protected sealed record GateFailure(string ErrorId, string Message);

    // The run in progress and its preview, for the Cancelled receipt when the user presses Ctrl+C.
    private RunContext? _activeRun;
    private TransitionRun? _activePreview;

    /// <summary>
    /// Runs one transition end to end; returns the receipt written (null when the command stopped with an error).
    /// Ctrl+C at any point records a Cancelled receipt (in the ledger only: the pipeline is stopping) that says
    /// how to resume; the journal undoes any partial write before the next change, so the same command resumes.
    /// <paramref name="editing"/>: files the plan may edit besides the manifest, parsed once for the loader and the editor.
    /// </summary>
    protected TReceipt? Transition<TReceipt>(
        TReceipt template,
        Func<EstateSnapshot, TransitionEnvironment, TransitionPlan> planner,
        string target,
        bool highImpact,
        Func<TransitionRun, GateFailure?>? gate = null,
        Func<EstateSnapshot, string?>? afterCommit = null,
        Func<TReceipt, TReceipt>? decorate = null,
        IEnumerable<string>? editing = null)
        where TReceipt : TransitionReceipt
    {
        _activeRun = null;
        _activePreview = null;
        try
        {
            return RunTransition(template, planner, target, highImpact, gate, afterCommit, decorate, editing);
        }
        // Only Ctrl+C (StopProcessing cancels the token): a terminating error also arrives as PipelineStoppedException.
        catch (PipelineStoppedException) when (_activeRun is { } run && CancelToken.IsCancellationRequested)
        {
            var receipt = (decorate ?? (r => r))(TransitionReceipts.Cancelled(template, _activePreview, MyInvocation.Line.Trim()));
            Receipts.Append(run.Stamp(receipt));
            throw;
        }
    }

    private TReceipt? RunTransition<TReceipt>(
        TReceipt template,
        Func<EstateSnapshot, TransitionEnvironment, TransitionPlan> planner,
        string target,
        bool highImpact,
        Func<TransitionRun, GateFailure?>? gate,
        Func<EstateSnapshot, string?>? afterCommit,
        Func<TReceipt, TReceipt>? decorate,
        IEnumerable<string>? editing)
        where TReceipt : TransitionReceipt
    {
        ValidateOverride();
        var env = new TransitionEnvironment
        {
            Now = DateTimeOffset.UtcNow,
            Actor = Environment.UserName,
            Ledger = Run(() => LedgerView.Load(Receipts.LedgerPath, Layout.Config?.Signers ?? [])),
        };
        var guard = new TransitionGuard { Now = DateTimeOffset.UtcNow, ForceReason = Force ? Reason : null, Ledger = env.Ledger };
        var runContext = BeginRun(Capability, RunMode.Preview);
        _activeRun = runContext;
        decorate ??= r => r;

        TransitionRun preview;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            preview = TransitionExecutor.Preview(Layout, e => planner(e, env), guard, editing);
        }
        catch (RelocationException ex) when (TransitionExecutor.IsUnreadableEstate(ex))
        {
            Stop(ex);
            return null;
        }
        catch (RelocationException ex)
        {
            EmitReceipt(runContext, decorate(TransitionReceipts.Refused(template, ex)));
            Stop(ex);
            return null;
        }
        runContext.RecordInputs(preview.InputDigests);
        _activePreview = preview;
        NarrateInputs(preview.InputDigests, clock.Elapsed);
        WriteVerbose($"Guards and preview: {preview.Plan.Summary}; {(preview.Plan.Blocked ? "blocked" : $"{preview.Changes.Select(c => c.File).Distinct().Count()} file(s) would change")}");
        WarnAll(preview.Plan);

        if (preview.Plan.Blocked)
        {
            return Blocked(runContext, template, preview, decorate);
        }
        if (preview.Plan.NoOp)
        {
            runContext.Mode = RunMode.Read;
            return EmitReceipt(runContext, decorate(TransitionReceipts.Unchanged(template, preview)));
        }
        if (gate?.Invoke(preview) is { } failure)
        {
            EmitReceipt(runContext, decorate(TransitionReceipts.GateRefused(template, preview, failure.Message)));
            Stop(new RelocationException(failure.ErrorId, FailureKind.InvalidOperation, failure.Message, null, target));
            return null;
        }

        var diff = ColourDiff(preview.Diff);
        var description = $"{preview.Plan.Summary}{Environment.NewLine}{diff}";
        if (!ShouldProcess(description, $"{preview.Plan.Summary}?{Environment.NewLine}{diff}", Capability)
            || (highImpact && NeedsHighImpactPrompt() && !ShouldContinue($"{preview.Plan.Summary}?{Environment.NewLine}{diff}", $"Confirm {Capability}")))
        {
            _previews.Add((preview.Plan.After ?? "", preview.Changes.Select(c => c.File)));
            return EmitReceipt(runContext, decorate(TransitionReceipts.Previewed(template, preview)));
        }

        runContext.Mode = RunMode.Execute;
        PauseForTests();
        TransitionRun committed;
        try
        {
            CancelToken.ThrowIfCancellationRequested();
            committed = TransitionExecutor.Commit(Layout, preview.Plan, e => planner(e, env with { Now = DateTimeOffset.UtcNow }),
                new TransitionCommitOptions
                {
                    Purpose = $"{MyInvocation.MyCommand.Name} {target}",
                    LeaseWait = TimeSpan.FromSeconds(LeaseTimeoutSeconds),
                    AfterCommit = afterCommit,
                    Now = DateTimeOffset.UtcNow,
                    // The receipt is part of the transaction: no change without its receipt (docs/design/ledger.md).
                    Receipts = Receipts,
                    Receipt = run =>
                    {
                        runContext.RecordInputs(run.InputDigests);
                        return runContext.Stamp(decorate(TransitionReceipts.Committed(template, run)));
                    },
                    Guard = guard,
                }, CancelToken);
        }
        catch (RelocationException ex) when (TransitionExecutor.IsUnreadableEstate(ex))
        {
            Stop(ex);
            return null;
        }
        catch (RelocationException ex)
        {
            EmitReceipt(runContext, decorate(TransitionReceipts.Failed(template, preview, ex)));
            Stop(ex);
            return null;
        }
        catch (OperationCanceledException ex) when (CancelToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException(ex.Message);
        }
        runContext.RecordInputs(committed.InputDigests);
        WriteVerbose($"Commit took {clock.ElapsedMilliseconds} ms from the start of the preview:");
        foreach (var file in committed.Outcome?.Files ?? [])
        {
            WriteVerbose($"  {file.Path}: sha256 {(file.OldSha256 ?? "(new)")[..Math.Min(12, (file.OldSha256 ?? "(new)").Length)]} -> {file.NewSha256[..Math.Min(12, file.NewSha256.Length)]}");
        }
        if (committed.Plan.Blocked)
        {
            WarnAll(committed.Plan);
            return Blocked(runContext, template, committed, decorate);
        }
        if (committed.Reverted)
        {
            var reverted = (TReceipt)committed.Receipt!;
            WriteObject(reverted);
            WriteError(Catalogued(new ErrorRecord(new RelocationException("TransitionReverted", FailureKind.InvalidOperation,
                $"{committed.Plan.Summary} was written, then reverted: {committed.RevertReason}", null, target),
                "TransitionReverted", ErrorCategory.InvalidResult, target)));
            return reverted;
        }
        if (committed.Receipt is TReceipt recorded)
        {
            WriteObject(recorded);
            return recorded;
        }
        return EmitReceipt(runContext, decorate(TransitionReceipts.Unchanged(template, committed)));
    }

    private TReceipt? Blocked<TReceipt>(RunContext runContext, TReceipt template, TransitionRun run, Func<TReceipt, TReceipt> decorate)
        where TReceipt : TransitionReceipt
    {
        var receipt = TransitionReceipts.Blocked(template, run);
        EmitReceipt(runContext, decorate(receipt));
        var errors = run.Plan.Findings.Where(f => f.Severity == FindingSeverity.Error);
        Stop(new RelocationException("TransitionBlocked", FailureKind.InvalidOperation, receipt.Summary, errors.FirstOrDefault()?.Location, run.Plan.Subject)
        {
            Findings = run.Plan.Findings,
        });
        return null;
    }

    /// <summary>
    /// Test hook: INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS widens the window between the preview and the commit,
    /// so the concurrency tests can make two processes decide on the same bytes. It only delays (cancellable).
    /// </summary>
    private void PauseForTests()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("INFRA_RELOCATION_TEST_PAUSE_BEFORE_COMMIT_MS"), out var ms) && ms is > 0 and <= 60_000)
        {
            CancelToken.WaitHandle.WaitOne(ms);
        }
    }

    private void WarnAll(TransitionPlan plan)
    {
        foreach (var warning in plan.Findings.Where(f => f.Severity == FindingSeverity.Warning))
        {
            WriteWarning(warning.ToString());
        }
        foreach (var overridden in plan.Overrides)
        {
            WriteWarning(overridden);
        }
    }

    /// <summary>
    /// High-impact targets (cutover, cleanup, complete) prompt by default although the cmdlet's ConfirmImpact is Medium:
    /// when -Confirm was not given and $ConfirmPreference is High (the default). Lower preferences already prompted in
    /// ShouldProcess; None and -Confirm:$false never prompt.
    /// </summary>
    private bool NeedsHighImpactPrompt()
    {
        if (MyInvocation.BoundParameters.ContainsKey("Confirm") || MyInvocation.BoundParameters.ContainsKey("WhatIf"))
        {
            return false;
        }
        var preference = GetVariableValue("ConfirmPreference");
        var value = preference switch
        {
            ConfirmImpact c => c,
            string s when Enum.TryParse<ConfirmImpact>(s, true, out var parsed) => parsed,
            _ => ConfirmImpact.High,
        };
        return value == ConfirmImpact.High;
    }
}
