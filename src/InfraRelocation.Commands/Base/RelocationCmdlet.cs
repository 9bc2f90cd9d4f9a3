using System.Management.Automation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Base of every InfraRelocation cmdlet: cancellation (Ctrl+C cancels any network wait at once),
/// error records with stable ids and located details, estate resolution and receipt plumbing.
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
    protected static ErrorRecord ToErrorRecord(RelocationException ex)
    {
        var record = new ErrorRecord(ex, ex.ErrorId, MapCategory(ex.Kind), ex.Target);
        if (ex.Location is not null)
        {
            record.ErrorDetails = new ErrorDetails(ex.LocatedMessage);
        }
        return record;
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
    }

    protected void Run(Action operation) => Run(() => { operation(); return true; });

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
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Root { get; set; }

    private EstateLayout? _layout;

    /// <summary>The estate's layout, resolved once per command; a bad root or config stops the command.</summary>
    protected EstateLayout Layout => _layout ??= Run(LoadLayout);

    /// <summary>The same layout as <see cref="Layout"/>, but a bad root or config throws, for cmdlets that handle it themselves.</summary>
    protected EstateLayout LoadLayout() =>
        _layout ??= EstateLayoutLoader.Load(EstateLayout.ResolveRoot(Root is null ? null : ResolvePath(Root), CurrentDirectory));

    /// <summary>Starts the evidence of a run of <paramref name="capability"/>.</summary>
    protected RunContext BeginRun(string capability, RunMode mode) =>
        new(capability, MyInvocation.MyCommand.Name, mode, Layout.Root);

    /// <summary>Stamps, appends to the ledger and writes a receipt to the pipeline.</summary>
    protected T EmitReceipt<T>(RunContext run, T receipt) where T : RelocationReceipt
    {
        var stored = Run(() => new ReceiptStore(Layout.ReceiptsPath).Append(run.Stamp(receipt)));
        WriteObject(stored);
        return stored;
    }
}
