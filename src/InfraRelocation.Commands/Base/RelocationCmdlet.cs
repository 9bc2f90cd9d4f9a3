using System.Collections;
using System.Management.Automation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Secrets;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Base of every InfraRelocation cmdlet: cancellation (Ctrl+C cancels any network wait at once),
/// error records with stable ids and located details, estate resolution and receipt plumbing, and secret masking:
/// every text a command emits (objects, errors, warnings, verbose, debug, information, progress, prompts) passes
/// through <see cref="SecretMask"/> here. The methods below hide the <see cref="Cmdlet"/> methods of the same name,
/// so every cmdlet's calls go through them (docs/design/secret-masking.md).
/// </summary>
public abstract class RelocationCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancel = new();

    /// <summary>Cancelled when the user presses Ctrl+C; pass it to every Core call that waits.</summary>
    protected CancellationToken CancelToken => _cancel.Token;

    protected override void StopProcessing() => _cancel.Cancel();

    public void Dispose()
    {
        _cancel.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The current file-system location of the session (not the process).</summary>
    protected string CurrentDirectory => SessionState.Path.CurrentFileSystemLocation.ProviderPath;

    /// <summary>Resolves a user-supplied path against the session's location.</summary>
    protected string ResolvePath(string path) => GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>Builds an error record from a Core failure, keeping its id, target and location.</summary>
    protected static ErrorRecord ToErrorRecord(RelocationException ex) =>
        Catalogued(new ErrorRecord(ex, ex.ErrorId, MapCategory(ex.Kind), ex.Target), ex.LocatedMessage,
            ex.RecommendedAction);

    /// <summary>
    /// Gives an error record its message (located when known) and its RecommendedAction: the failure's own advice
    /// when it has one, else what the error catalog (about_InfraRelocation_Errors) lists for its id, else the
    /// default for its kind. Every error record of the module passes through here.
    /// </summary>
    protected static ErrorRecord Catalogued(ErrorRecord record, string? message = null, string? action = null)
    {
        var id = record.FullyQualifiedErrorId.Split(',')[0];
        var failure = record.Exception as RelocationException;
        action ??= ErrorCatalog.ActionFor(id) ?? (failure is null ? "" : RecommendedActionFor(failure));
        // The advice names the place to fix when the failure has one, whichever source the advice came from.
        if (failure?.Location is { } location && !action.Contains(location.ToString(), StringComparison.Ordinal))
        {
            action = $"{action} (at {location})";
        }
        record.ErrorDetails = new ErrorDetails(message ?? record.Exception.Message) { RecommendedAction = action };
        return record;
    }

    /// <summary>The default advice for a failure of this kind, naming its location when it has one.</summary>
    internal static string RecommendedActionFor(RelocationException ex)
    {
        var where = ex.Location is null ? "" : $" at {ex.Location}";
        return ex.Kind switch
        {
            FailureKind.ParserError or FailureKind.InvalidData =>
                $"Correct the file{where} and run the command again; Test-RelocationManifest lists every problem with its location.",
            FailureKind.ObjectNotFound =>
                $"Check the name or path{where}; pass -Root or set $env:{EstateLayout.RootVariable} when the estate is elsewhere.",
            FailureKind.InvalidArgument => "Check the parameter values; Get-Help <command> -Parameter * describes each one.",
            FailureKind.InvalidOperation =>
                "Run the command with -WhatIf to see which guard refused it, satisfy the guard, and run it again.",
            FailureKind.ResourceBusy => "Another run holds the estate; wait for it to finish, then run the command again.",
            FailureKind.ConnectionError or FailureKind.ResourceUnavailable or FailureKind.OperationTimeout =>
                "Check that the host is reachable (Invoke-RelocationPreflight) and run the command again; it resumes where it stopped.",
            FailureKind.AuthenticationError or FailureKind.SecurityError or FailureKind.PermissionDenied =>
                "Check the credentials, key or file permissions the message names.",
            FailureKind.OperationStopped => "Run the command again to resume; completed steps are skipped.",
            FailureKind.WriteError => "Check that the estate is writable and has free space, then run the command again.",
            _ => "See the message and Get-Help about_InfraRelocation.",
        };
    }

    /// <summary>Stops the command with a Core failure as a terminating error.</summary>
    protected void Fail(RelocationException ex) => ThrowTerminatingError(ToErrorRecord(ex));

    /// <summary>Stops the command with a new terminating error.</summary>
    protected void Fail(string errorId, FailureKind kind, string message, object? target, SourceLocation? location = null) =>
        Fail(new RelocationException(errorId, kind, message, location, target));

    /// <summary>Writes a non-terminating error for one item of a multi-item command.</summary>
    protected void WriteRelocationError(RelocationException ex) => WriteError(ToErrorRecord(ex));

    /// <summary>
    /// Runs a Core operation, turning Core failures into terminating PowerShell errors and
    /// cancellation into a clean stop. Anything else is a bug and keeps its stack trace.
    /// </summary>
    protected T Run<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (RelocationException ex)
        {
            Fail(ex);
            throw; // unreachable: ThrowTerminatingError always throws
        }
        catch (OperationCanceledException ex) when (CancelToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException(ex.Message);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && SecretMask.Contains(ex.ToString()))
        {
            // An unexpected failure whose text holds a secret: it leaves masked, as a terminating error.
            ThrowTerminatingError(new ErrorRecord(ex, "UnexpectedFailure", ErrorCategory.NotSpecified, null));
            throw; // unreachable
        }
    }

    protected void Run(Action operation) => Run(() => { operation(); return true; });

    /// <summary>Writes an output object with every known secret masked.</summary>
    public new void WriteObject(object? sendToPipeline) => base.WriteObject(MaskOutput(sendToPipeline));

    /// <summary>Writes an output object (enumerated when asked) with every known secret masked.</summary>
    public new void WriteObject(object? sendToPipeline, bool enumerateCollection)
    {
        if (enumerateCollection && SecretMask.Any && sendToPipeline is IEnumerable items and not string and not IDictionary)
        {
            foreach (var item in items)
            {
                base.WriteObject(MaskOutput(item));
            }
            return;
        }
        base.WriteObject(MaskOutput(sendToPipeline), enumerateCollection);
    }

    public new void WriteWarning(string? text) => base.WriteWarning(SecretMask.MaskOrNull(text)!);
    public new void WriteVerbose(string? text) => base.WriteVerbose(SecretMask.MaskOrNull(text)!);
    public new void WriteDebug(string? text) => base.WriteDebug(SecretMask.MaskOrNull(text)!);
    public new void WriteError(ErrorRecord errorRecord) => base.WriteError(MaskRecord(errorRecord));
    public new void ThrowTerminatingError(ErrorRecord errorRecord) => base.ThrowTerminatingError(MaskRecord(errorRecord));

    public new void WriteInformation(object messageData, string[] tags) => base.WriteInformation(messageData switch
    {
        string text => SecretMask.Mask(text),
        HostInformationMessage host => new HostInformationMessage
        {
            Message = SecretMask.Mask(host.Message), NoNewLine = host.NoNewLine, ForegroundColor = host.ForegroundColor, BackgroundColor = host.BackgroundColor,
        },
        _ => MaskOutput(messageData)!,
    }, tags);

    public new void WriteProgress(ProgressRecord progressRecord)
    {
        progressRecord.Activity = SecretMask.Mask(progressRecord.Activity);
        progressRecord.StatusDescription = SecretMask.Mask(progressRecord.StatusDescription);
        progressRecord.CurrentOperation = SecretMask.MaskOrNull(progressRecord.CurrentOperation);
        base.WriteProgress(progressRecord);
    }

    public new bool ShouldProcess(string target) => base.ShouldProcess(SecretMask.Mask(target));
    public new bool ShouldProcess(string target, string action) => base.ShouldProcess(SecretMask.Mask(target), SecretMask.Mask(action));
    public new bool ShouldProcess(string verboseDescription, string verboseWarning, string caption) =>
        base.ShouldProcess(SecretMask.Mask(verboseDescription), SecretMask.Mask(verboseWarning), SecretMask.Mask(caption));
    public new bool ShouldContinue(string query, string caption) => base.ShouldContinue(SecretMask.Mask(query), SecretMask.Mask(caption));

    private static object? MaskOutput(object? value) => value is PSObject ? value : SecretMask.MaskObject(value);

    /// <summary>
    /// The record itself when it holds no secret; else a copy whose exception (a <see cref="RelocationException"/> keeping
    /// its id, kind and location, without the inner exception), details, target and findings are masked.
    /// </summary>
    internal static ErrorRecord MaskRecord(ErrorRecord record)
    {
        var exception = record.Exception;
        var details = record.ErrorDetails;
        if (!SecretMask.Contains(exception?.ToString()) && !SecretMask.Contains(details?.Message) &&
            !SecretMask.Contains(details?.RecommendedAction) && !SecretMask.Contains(record.TargetObject?.ToString()))
        {
            return record;
        }
        var target = record.TargetObject is string or null ? SecretMask.MaskOrNull(record.TargetObject as string) : SecretMask.MaskObject(record.TargetObject);
        var masked = exception is RelocationException rex
            ? new RelocationException(rex.ErrorId, rex.Kind, SecretMask.Mask(rex.Message), rex.Location, target)
            {
                Findings = rex.Findings.Select(f => SecretMask.MaskRecord(f)).ToList(),
            }
            : new RelocationException("UnexpectedFailure", FailureKind.InvalidOperation,
                SecretMask.Mask($"{exception?.GetType().Name}: {exception?.Message}"), null, target);
        var copy = new ErrorRecord(masked, record.FullyQualifiedErrorId, record.CategoryInfo.Category, target);
        if (details is not null)
        {
            copy.ErrorDetails = new ErrorDetails(SecretMask.Mask(details.Message ?? ""))
            {
                RecommendedAction = SecretMask.MaskOrNull(details.RecommendedAction),
            };
        }
        return copy;
    }

    internal static ErrorCategory MapCategory(FailureKind kind) => kind switch
    {
        FailureKind.InvalidArgument => ErrorCategory.InvalidArgument,
        FailureKind.InvalidData => ErrorCategory.InvalidData,
        FailureKind.ParserError => ErrorCategory.ParserError,
        FailureKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        FailureKind.InvalidOperation => ErrorCategory.InvalidOperation,
        FailureKind.ResourceBusy => ErrorCategory.ResourceBusy,
        FailureKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        FailureKind.ConnectionError => ErrorCategory.ConnectionError,
        FailureKind.AuthenticationError => ErrorCategory.AuthenticationError,
        FailureKind.SecurityError => ErrorCategory.SecurityError,
        FailureKind.OperationTimeout => ErrorCategory.OperationTimeout,
        FailureKind.OperationStopped => ErrorCategory.OperationStopped,
        FailureKind.PermissionDenied => ErrorCategory.PermissionDenied,
        FailureKind.WriteError => ErrorCategory.WriteError,
        _ => ErrorCategory.NotSpecified,
    };
}

/// <summary>
/// Base of cmdlets that work on an estate: the -Root parameter, layout resolution, and receipts
/// that are appended to the estate's ledger and written to the pipeline.
/// </summary>
public abstract class EstateCmdlet : RelocationCmdlet
{
    /// <summary>Estate root; defaults to $env:INFRA_RELOCATION_ROOT, then the nearest folder above holding the manifest.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("EstateRoot")]
    [ValidateNotNullOrEmpty]
    public string? Root { get; set; }

    private EstateLayout? _layout;

    /// <summary>True once the estate root and config were resolved without error.</summary>
    protected bool HasLayout => _layout is not null;

    /// <summary>The estate's layout, resolved once per command; a bad root or config stops the command.</summary>
    protected EstateLayout Layout => _layout ??= Run(LoadLayout);

    /// <summary>
    /// The same layout as <see cref="Layout"/>, but a bad root or config throws, for cmdlets that handle it themselves.
    /// Warns once per command about every journal a crashed change left pending (read-only commands included).
    /// </summary>
    protected EstateLayout LoadLayout()
    {
        if (_layout is null)
        {
            _layout = EstateLayoutLoader.Load(EstateLayout.ResolveRoot(Root is null ? null : ResolvePath(Root), CurrentDirectory));
            foreach (var notice in Core.Persistence.EstateTransaction.PendingJournalNotices(_layout.Root)
                         .Concat(PendingReceipts.Notices(_layout.Root)))
            {
                WriteWarning(notice);
            }
        }
        return _layout;
    }

    /// <summary>
    /// The mutation guard of a change made on a host (provision, bootstrap, hostname): the estate's files stay as they
    /// are, so SCHEMA, D35, D37 and identity are judged on the estate as it is. Null when the change may go ahead;
    /// else the refusal (<see cref="MutationGuard.IsUnreadableEstate"/> says whether it is bad input, with no receipt).
    /// </summary>
    protected RelocationException? HostChangeRefusal(Core.Estate.EstateSnapshot estate, string what, Func<RelocationFinding, bool>? resolvedByTheChange = null)
    {
        var verdict = MutationGuard.Evaluate(estate, DateTimeOffset.UtcNow, Core.Transitions.LedgerView.Load(Receipts.LedgerPath, Layout.Config?.Signers ?? []));
        return MutationGuard.Refusal(resolvedByTheChange is null ? verdict : MutationGuard.Except(verdict, resolvedByTheChange), what, canForce: false);
    }

    /// <summary>
    /// Journals the receipt of a change before it is sent to a host (provisioning, bootstrap, hostname; issue 16.1): the
    /// ledger must take a receipt, else the command stops with nothing sent (<c>ReceiptLedgerUnwritable</c>,
    /// <c>ReceiptLedgerTorn</c>); receipts of earlier interrupted host changes are recorded first; then
    /// <paramref name="interrupted"/>, the receipt the ledger gets if this process dies before it records its result, is
    /// kept in <see cref="PendingReceipts"/>. <see cref="EmitHostChangeReceipt"/> records the real one and drops it.
    /// </summary>
    protected string JournalHostChange(RunContext run, RelocationReceipt interrupted)
    {
        var store = Receipts;
        Run(store.EnsureWritable);
        foreach (var earlier in Run(() => PendingReceipts.Complete(Layout.Root, store)))
        {
            WriteWarning($"Recorded the receipt of an interrupted run ({earlier.Command}, run {earlier.RunId}): {earlier.Summary}");
        }
        return Run(() => PendingReceipts.Write(Layout.Root, run.Stamp(interrupted) with { Mode = RunMode.Execute, Outcome = ReceiptOutcome.Failed }));
    }

    /// <summary>
    /// Records the receipt of a host change journaled by <see cref="JournalHostChange"/>, then drops the journaled one.
    /// Any outcome may have reached the host (a failure part-way), so a ledger that refuses the receipt now keeps the
    /// journaled one pending (the next run records it) and says so.
    /// </summary>
    protected T RecordHostChange<T>(RunContext run, T receipt, string journal) where T : RelocationReceipt
    {
        var stamped = run.Stamp(receipt);
        try
        {
            var stored = Receipts.Append(stamped);
            PendingReceipts.Discard(journal);
            return stored;
        }
        catch (RelocationException ex) when (ex.ErrorId is "ReceiptLedgerUnwritable" or "ReceiptLedgerTorn" or "ReceiptSigningKeyInvalid")
        {
            WriteWarning($"Evidence was not recorded ({ex.ErrorId}): {ex.Message} The receipt journaled before the change stays pending; the next run records it.");
            return stamped;
        }
    }

    /// <summary><see cref="RecordHostChange"/>, and the receipt to the pipeline.</summary>
    protected T EmitHostChangeReceipt<T>(RunContext run, T receipt, string journal) where T : RelocationReceipt
    {
        var stored = RecordHostChange(run, receipt, journal);
        WriteObject(stored);
        return stored;
    }

    /// <summary>Starts the evidence of a run of <paramref name="capability"/>.</summary>
    protected RunContext BeginRun(string capability, RunMode mode) =>
        new(capability, MyInvocation.MyCommand.Name, mode, Layout.Root);

    /// <summary>-Verbose: the estate root, every file read with its digest, and how long reading took.</summary>
    protected void NarrateInputs(IReadOnlyDictionary<string, string> digests, TimeSpan took)
    {
        WriteVerbose($"Estate {Layout.Root}: {digests.Count} file(s) read in {took.TotalMilliseconds:0} ms");
        foreach (var (file, digest) in digests.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            WriteVerbose($"  sha256 {digest[..Math.Min(12, digest.Length)]} {file}");
        }
    }

    /// <summary>
    /// Loads the estate for a Test-* or gate cmdlet. An unreadable or malformed file is not a terminating error:
    /// it is written as a located finding (rule <c>YAML.&lt;ErrorId&gt;</c>) and a non-terminating error, so
    /// -ErrorAction and 2&gt;&amp;1 work, and the caller reports the run as failed. Returns null then.
    /// </summary>
    protected Core.Estate.EstateSnapshot? TryLoadEstate(IReadOnlyCollection<EstateFile>? only, bool writeFinding, out RelocationFinding? unreadable)
    {
        unreadable = null;
        try
        {
            return EstateLoader.Load(LoadLayout(), only);
        }
        catch (RelocationException ex)
        {
            unreadable = RelocationFinding.Error("YAML." + ex.ErrorId, ex.Message, ex.Location ?? FileLocationOf(ex.Target), subject: ex.Target?.ToString());
            if (writeFinding)
            {
                WriteObject(unreadable);
            }
            WriteRelocationError(ex);
            return null;
        }
    }

    // An unreadable file has no line to point at: the finding points at the file's first character.
    private SourceLocation? FileLocationOf(object? target)
    {
        if (target is not string path || _layout is null)
        {
            return null;
        }
        var full = Path.GetFullPath(path, _layout.Root);
        return new SourceLocation(Path.GetRelativePath(_layout.Root, full).Replace('\\', '/'), 1, 1);
    }

    /// <summary>The receipts folder: <c>$env:INFRA_RELOCATION_RECEIPTS</c> when set, else the estate's (default <c>receipts/</c>).</summary>
    protected string ReceiptsPath => Layout.ActiveReceiptsPath;

    /// <summary>The estate's receipt ledger (see <see cref="ReceiptsPath"/>).</summary>
    protected virtual ReceiptStore Receipts => new(ReceiptsPath);

    /// <summary>
    /// Stamps, appends to the ledger and writes a receipt to the pipeline. A ledger that cannot be written stops the
    /// command of an executed change; for evidence of reads, previews, refusals and failures (nothing changed) the result still goes
    /// to the pipeline, with a warning that the evidence was not recorded (a read-only checkout, a full disk).
    /// </summary>
    protected T EmitReceipt<T>(RunContext run, T receipt) where T : RelocationReceipt
    {
        var stamped = run.Stamp(receipt);
        var changed = run.Mode == RunMode.Execute && stamped.Outcome is ReceiptOutcome.Succeeded or ReceiptOutcome.Reverted;
        var stored = changed ? Run(() => Receipts.Append(stamped)) : TryRecord(stamped);
        WriteObject(stored);
        return stored;
    }

    /// <summary>
    /// Returns the receipt of a run that could not read its input, without recording it: bad input changes nothing
    /// on disk, not even the ledger (about_InfraRelocation, GUARANTEES).
    /// </summary>
    protected T EmitUnrecorded<T>(RunContext run, T receipt) where T : RelocationReceipt
    {
        var stamped = run.Stamp(receipt);
        WriteObject(stamped);
        return stamped;
    }

    /// <summary>Appends evidence of a run that changed nothing; on a ledger that cannot be written, warns and returns it unrecorded.</summary>
    protected T TryRecord<T>(T stamped) where T : RelocationReceipt
    {
        try
        {
            return Receipts.Append(stamped);
        }
        catch (RelocationException ex) when (ex.ErrorId is "ReceiptLedgerUnwritable" or "ReceiptLedgerTorn" or "ReceiptSigningKeyInvalid")
        {
            WriteWarning($"Evidence was not recorded ({ex.ErrorId}): {ex.Message}");
            return stamped;
        }
    }
}
