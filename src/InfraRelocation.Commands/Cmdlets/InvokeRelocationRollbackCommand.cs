using System.Management.Automation;
using System.Text;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Rollback;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Invoke-RelocationRollback: executes the protocol's rollback procedure (capability infra.relocation.rollback) for one
/// service, a phase or every moved service: stop on the new host, verify and restore the backup, start on rollback_to,
/// DNS/routing, write back every SSOT value the move changed (one transaction), D35 + D37, incident record. Each step
/// is journaled; a run that stops resumes at the step that did not finish.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationRollback", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = "Service")]
[OutputType(typeof(RollbackStepRecord), typeof(RollbackReceipt))]
public sealed class InvokeRelocationRollbackCommand : RemoteCmdlet
{
    /// <summary>The service(s) to roll back; binds by property name from Get-RelocationManifest's Services.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Service")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ServiceCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>Every moved service of this phase (latest first, then manifest order).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Phase")]
    public int Phase { get; set; }

    /// <summary>Every moved service of the relocation.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter All { get; set; }

    /// <summary>Why the service is rolled back (the incident record and the receipt keep it; also the reason of -Force).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Reason { get; set; } = "";

    /// <summary>Roll back outside rollback.max_rollback_window_hours, or past the mutation guard's D35/D37 errors (recorded with -Reason).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The operator has pointed DNS/routing at the rollback target by hand (when the estate defines no commands.route).</summary>
    [Parameter]
    public SwitchParameter RoutingConfirmed { get; set; }

    /// <summary>Folder of the incident records, relative to the estate root.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string IncidentFolder { get; set; } = "docs/incidents";

    /// <summary>Seconds one remote command may take.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public double CommandTimeout { get; set; } = 600;

    /// <summary>Seconds to wait for the estate lease when another change holds it.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public int LeaseTimeoutSeconds { get; set; } = 30;

    protected override void ProcessRecord()
    {
        var estate = LoadEstate();
        var manifest = estate.Manifest;
        IEnumerable<string> names = ParameterSetName switch
        {
            "Service" => Service,
            _ => (manifest?.Services ?? [])
                .Where(s => ServiceRules.IsPastPlanned(s) && s.Status != ServiceStatus.RolledBack && (All || s.Phase == Phase))
                .OrderByDescending(s => s.Phase ?? int.MinValue).ThenBy(s => s.Index).Select(s => s.Service),
        };
        var list = names.ToList();
        if (list.Count == 0 && ParameterSetName != "Service")
        {
            WriteWarning(All ? "No service has moved: nothing to roll back." : $"No service of phase {Phase} has moved: nothing to roll back.");
        }
        foreach (var name in list)
        {
            if (!RollBack(name))
            {
                return; // the first failure stops: nothing later runs
            }
        }
    }

    private bool RollBack(string name)
    {
        var run = BeginRun(MoveRecord.RollbackCapability, RunMode.Execute);
        var estate = LoadEstate();
        run.RecordInputs(estate.InputDigests);
        var ledger = Run(() => LedgerView.Load(Receipts.LedgerPath));
        var journal = Run(() => RollbackJournal.Load(Layout, name));
        var resumed = journal is not null;
        if (journal is null)
        {
            try
            {
                journal = RollbackPlanning.Plan(estate, ledger, new RollbackRequest(name, Reason)
                {
                    ForceReason = Force ? Reason : null,
                    IncidentFolder = IncidentFolder,
                });
            }
            catch (RelocationException ex)
            {
                Fail(ex); // bad input: nothing ran, nothing was written
                return false;
            }
        }
        else
        {
            WriteWarning($"Resuming the rollback of {name} started {journal.StartedUtc:u} by {journal.Actor} ({RollbackJournal.RelativePath(name)}): finished steps are skipped.");
            try
            {
                journal = RollbackPlanning.Refresh(estate, journal);
            }
            catch (RelocationException ex)
            {
                Fail(ex);
                return false;
            }
            if (Force)
            {
                journal = journal with { ForceReason = Reason };
            }
        }

        // A resumed rollback whose values are already written back (its revert step ran) has no diff left to show.
        var preview = RollbackExecutor.RevertWritten(Layout.Root, journal) ? null : TransitionExecutor.Preview(Layout, _ => RollbackExecutor.RevertPlan(journal));
        if (!ShouldProcess(Describe(journal, preview?.Diff ?? ""), $"Roll back {name} from {journal.NewHost} to {journal.RollbackTo}?", "Invoke-RelocationRollback"))
        {
            foreach (var row in RollbackExecutor.Records(journal))
            {
                WriteObject(row);
            }
            run.Mode = RunMode.Preview;
            EmitReceipt(run, RollbackExecutor.Receipt(journal, ReceiptOutcome.Previewed, $"Preview of the rollback of {name}: nothing was sent or written") with
            {
                Diff = preview?.Diff ?? "", Changes = preview?.Changes ?? [], Mode = RunMode.Preview,
            });
            return true;
        }

        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, SshOptions(TimeSpan.FromSeconds(CommandTimeout)));
        var context = new RollbackContext
        {
            Layout = Layout, Receipts = Receipts, Endpoint = resolver.Resolve, RoutingConfirmed = RoutingConfirmed, RunId = run.RunId,
            Stamp = r => run.Stamp(r), LeaseWait = TimeSpan.FromSeconds(LeaseTimeoutSeconds),
        };
        RollbackRun result;
        var started = journal;
        try
        {
            result = Pump($"Roll back {name}", (progress, ct) =>
                new RollbackExecutor(Pool, context with
                {
                    StepDone = step =>
                    {
                        Post(RollbackExecutor.Records(started.With(step)).First(s => s.Order == step.Order));
                        progress(new FanOutProgress($"Roll back {name}", step.Name, step.Order, started.Steps.Count));
                    },
                }).RunAsync(started, ct));
        }
        catch (PipelineStoppedException)
        {
            // The pump has cancelled the executor and waited for it: the journal on disk is what the run left.
            var left = RollbackJournal.Load(Layout, name) ?? journal;
            TryRecord(run.Stamp(RollbackExecutor.Receipt(left, ReceiptOutcome.Cancelled,
                $"Cancelled (Ctrl+C) during the rollback of {name}; the journal {RollbackJournal.RelativePath(name)} keeps the finished steps. Run the same command again to resume.")));
            throw;
        }
        if (result.Completed)
        {
            WriteObject(result.Receipt ?? EmitReceipt(run, RollbackExecutor.Receipt(result.Journal, ReceiptOutcome.Unchanged, $"The rollback of {name} had already finished")));
            return true;
        }
        var failed = result.Failed!;
        var message = $"The rollback of {name} stopped at step {failed.Order} ({failed.Name}{(failed.Host is null ? "" : " on " + failed.Host)}): {failed.Evidence} " +
                      $"Nothing after it ran; the journal {RollbackJournal.RelativePath(name)} keeps the finished steps, and the same command resumes at this step.";
        EmitReceipt(run, RollbackExecutor.Receipt(result.Journal, ReceiptOutcome.Failed, message) with { Resumed = resumed || result.Journal.Runs.Count > 1 });
        WriteRelocationError(new RelocationException("RollbackStepFailed", FailureKind.InvalidOperation, message, null, name));
        return false;
    }

    private static string Describe(RollbackJournal journal, string diff)
    {
        var b = new StringBuilder($"Roll back {journal.Service} ({journal.StatusAtStart}) from {journal.NewHost} to {journal.RollbackTo}: {journal.Steps.Count} step(s)");
        foreach (var s in journal.Steps)
        {
            b.Append(Environment.NewLine).Append("  ").Append(s.Order).Append(". ").Append(s.Name);
            if (s.Finished)
            {
                b.Append(" (finished: ").Append(s.State).Append(')');
                continue;
            }
            if (s.Remote)
            {
                b.Append(" on ").Append(s.Host).Append(": ");
                if (!string.IsNullOrEmpty(s.Check)) b.Append("check `").Append(s.Check).Append('`').Append(s.Run is null ? "" : "; if not done ");
                if (s.Run is not null) b.Append("run `").Append(s.Run).Append('`');
            }
            else
            {
                b.Append(": ").Append(s.Run);
            }
        }
        if (diff.Length > 0)
        {
            b.Append(Environment.NewLine).Append(diff);
        }
        return b.ToString();
    }
}
